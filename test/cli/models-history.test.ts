import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelIdTime } from '../../src/registry/model-id.js';
import { deploy, rollback } from '../../src/registry/pointer.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';
import { git } from '../helpers/git-fixture.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

const servers = [{ name: 'web-0001', profile: 'web' }];

interface ModelsJson {
  registry: string;
  current: string | null;
  models: Array<{ model_id: string; created_at: string; validation: string; current: boolean }>;
}
interface HistoryJson {
  source: 'git' | 'pointer';
  note: string;
  entries: Array<{
    model_id: string | null;
    previous_model_id: string | null;
    reason: string | null;
    commit: string | null;
    subject: string | null;
    uncommitted?: boolean;
    held_out: { passed: boolean; q_risk: number | null; p50: Record<string, number> } | null;
  }>;
}

describe('fleetcast models / history', () => {
  let root: string;
  let ids: string[];
  let A: string, B: string, C: string;

  async function registryWithModels(dir: string): Promise<string> {
    const registry = join(dir, 'models-registry');
    ids = await makeTinyModels(join(registry, 'models'), [
      { servers, validation: { passed: true } },
      { servers, validation: { passed: false } },
      { servers },
    ]);
    [A, B, C] = ids as [string, string, string];
    return registry;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-models-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('models: every model with its training time and validation verdict, the current one marked', async () => {
    const registry = await registryWithModels(join(root, 'plain'));
    await deploy(registry, A, 'first');
    await deploy(registry, B, 'second');
    const json = await fleetcast(['models', '--registry', registry, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as ModelsJson;
    assert.equal(out.current, B);
    assert.deepEqual(
      out.models.map((m) => [m.model_id, m.validation, m.current]),
      [
        [A, 'passed', false],
        [B, 'failed', true],
        [C, 'missing', false],
      ],
    );
    assert.equal(out.models[0]!.created_at, modelIdTime(A).toISOString());
    const text = await fleetcast(['models', '--registry', registry]);
    assert.equal(text.code, 0);
    const lines = text.stdout.split('\n');
    assert.match(
      lines.find((l) => l.includes(B))!,
      /^\* .*failed.*current/,
    );
    assert.match(
      lines.find((l) => l.includes(A))!,
      /^ {2}.*passed/,
    );
    assert.match(
      lines.find((l) => l.includes(C))!,
      /missing/,
    );
  });

  it('history outside git: the pointer and its previous_model_id, labelled as such', async () => {
    const registry = join(root, 'plain', 'models-registry');
    const json = await fleetcast(['history', '--registry', registry, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as HistoryJson;
    assert.equal(out.source, 'pointer');
    assert.match(out.note, /not in a git repository/);
    assert.deepEqual(
      out.entries.map((e) => [e.model_id, e.previous_model_id]),
      [
        [B, A],
        [A, null],
      ],
    );
    const text = await fleetcast(['history', '--registry', registry]);
    assert.match(text.stdout, /not in a git repository/);
    assert.match(text.stdout, new RegExp(`${B}[\\s\\S]*${A}`));
  });

  it('history inside git: one entry per commit of current.json, newest first, then uncommitted changes', async () => {
    const repo = join(root, 'repo');
    const registry = await registryWithModels(repo);
    await git(repo, 'init', '--quiet', '--initial-branch=main');
    const commit = async (message: string) => {
      await git(repo, 'add', '--all');
      await git(repo, 'commit', '--quiet', '-m', message);
    };
    await commit('models');
    await deploy(registry, A, 'first deploy');
    await commit(`deploy: ${A}`);
    await deploy(registry, B, 'drift');
    await commit(`deploy: ${B}`);
    await rollback(registry, { reason: 'latency regression' });
    await commit(`rollback: ${A} (was ${B})`);
    await deploy(registry, C, 'trying C');

    const json = await fleetcast(['history', '--registry', registry, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as HistoryJson;
    assert.equal(out.source, 'git');
    assert.deepEqual(
      out.entries.map((e) => [e.model_id, e.previous_model_id, e.subject, e.uncommitted ?? false]),
      [
        [C, A, null, true],
        [A, B, `rollback: ${A} (was ${B})`, false],
        [B, A, `deploy: ${B}`, false],
        [A, null, `deploy: ${A}`, false],
      ],
    );
    assert.match(out.entries[1]!.commit!, /^[0-9a-f]{40}$/);
    assert.equal(out.entries[1]!.reason, 'latency regression');
    // accuracy over time, version by version: each model's held-out figures as committed with it
    assert.deepEqual(
      out.entries.map((e) => (e.held_out ? [e.held_out.passed, e.held_out.p50.cpu_pct] : null)),
      [null, [true, 0.1], [false, 0.1], [true, 0.1]],
    );
    // a model directory removed later: the history still reads its figures from the commit
    await rm(join(registry, 'models', B), { recursive: true });
    const later = JSON.parse(
      (await fleetcast(['history', '--registry', registry, '--json'])).stdout,
    ) as HistoryJson;
    assert.deepEqual(later.entries[2]!.held_out?.p50, { cpu_pct: 0.1 });
    const text = await fleetcast(['history', '--registry', registry]);
    assert.match(text.stdout, /git log/);
    assert.match(text.stdout, /uncommitted/);
    assert.match(text.stdout, /HELD-OUT P50 Q-RISK/);
    assert.match(text.stdout, /cpu_pct 0\.100 \(FAILED\)/);
  });
});
