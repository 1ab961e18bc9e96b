import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { CommitInfo } from '../../src/forge/types.js';
import {
  deployCommitMessage,
  revertCommitMessage,
  rollbackCommitMessage,
} from '../../src/gitops/deploy-commit.js';
import {
  automatedDeployRefusal,
  latestDeployCommit,
  rolledBackModels,
} from '../../src/gitops/deploy-history.js';
import { parseTrailers } from '../../src/gitops/trailers.js';

const A = 'tft-20261001T000000Z-aaaaaa';
const B = 'tft-20261101T000000Z-bbbbbb';
const C = 'tft-20261120T000000Z-cccccc';
const who = { name: 'Dana', email: 'dana@example.com' };
const commit = (message: string): CommitInfo => ({
  sha: randomBytes(20).toString('hex'),
  message,
  author: who,
});
const deployOf = (id: string, prev: string | null) =>
  commit(
    deployCommitMessage({
      modelId: id,
      previousModelId: prev,
      fleetSize: 3,
      coveragePct: 100,
      qRisk: 0.1,
      registryDir: 'models-registry',
      reason: 'r',
    }),
  );
const humanRevert = (c: CommitInfo) =>
  commit(`Revert "${c.message.split('\n')[0]}"\n\nThis reverts commit ${c.sha}.`);
const newestFirst = (...commits: CommitInfo[]) => [...commits].reverse();

test('deploy commit message: model, fleet size, coverage, q-risk, trailers', () => {
  const text = deployCommitMessage({
    modelId: B,
    previousModelId: A,
    fleetSize: 412,
    coveragePct: 100,
    qRisk: 0.08123,
    registryDir: 'models-registry',
    reason: 'drift 35%',
  });
  assert.equal(text.split('\n')[0], `deploy: ${B} (412 servers, coverage 100.0%, q-risk 0.0812)`);
  assert.deepEqual(parseTrailers(text).get('Fleetcast-Model'), [B]);
  assert.deepEqual(parseTrailers(text).get('Fleetcast-Previous-Model'), [A]);
});

test("a person's git revert of a deploy marks the model rolled back", () => {
  const dA = deployOf(A, null);
  const dB = deployOf(B, A);
  const r = humanRevert(dB);
  const state = rolledBackModels(newestFirst(dA, dB, r));
  assert.deepEqual([...state.keys()], [B]);
  assert.equal(state.get(B)?.sha, r.sha);
  assert.match(automatedDeployRefusal(B, state)!, /was rolled back/);
  assert.match(automatedDeployRefusal('tft-20261015T000000Z-dddddd', state)!, /not newer than/);
  assert.equal(automatedDeployRefusal(C, state), undefined);
});

test('reverting the revert (redeploy by hand) clears it; abbreviated shas resolve', () => {
  const dA = deployOf(A, null);
  const dB = deployOf(B, A);
  const r = humanRevert(dB);
  const rr = commit(`Revert "Revert"\n\nThis reverts commit ${r.sha.slice(0, 12)}.`);
  assert.equal(rolledBackModels(newestFirst(dA, dB, r, rr)).size, 0);
  const selfRef = commit('Revert "x"');
  const loop = { ...selfRef, message: `Revert "x"\n\nThis reverts commit ${selfRef.sha}.` };
  assert.equal(rolledBackModels([loop, dB, dA]).size, 0, 'a commit naming itself does not loop');
});

test('rollback commits (revert and pointer) are recognised; deploying by hand clears', () => {
  const dA = deployOf(A, null);
  const dB = deployOf(B, A);
  const viaWorkflow = commit(
    revertCommitMessage('deploy: x', dB.sha, { from: B, reason: 'slow', requestedBy: 'dana' }),
  );
  assert.deepEqual([...rolledBackModels(newestFirst(dA, dB, viaWorkflow)).keys()], [B]);
  const dC = deployOf(C, A);
  const pointer = commit(rollbackCommitMessage(A, { from: C, reason: 'bad', requestedBy: 'dana' }));
  const state = rolledBackModels(newestFirst(dA, dB, viaWorkflow, dC, pointer));
  assert.deepEqual([...state.keys()].sort(), [B, C]);
  const backToB = commit(rollbackCommitMessage(B, { from: A, reason: 'B was fine', requestedBy: 'dana' }));
  const after = rolledBackModels(newestFirst(dA, dB, viaWorkflow, dC, pointer, backToB));
  assert.deepEqual([...after.keys()].sort(), [A, C]);
});

test('latest deploy commit: only when it put the current pointer in place', () => {
  const dA = deployOf(A, null);
  const dB = deployOf(B, A);
  assert.equal(latestDeployCommit(newestFirst(dA, dB), B)?.sha, dB.sha);
  assert.equal(latestDeployCommit(newestFirst(dA, dB, humanRevert(dB)), A), undefined);
  assert.equal(latestDeployCommit([], A), undefined);
});
