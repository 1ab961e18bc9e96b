import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderManifest } from '../../src/fleet/manifest.js';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.js';

const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));

function fleetcast(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'error', GITHUB_TOKEN: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('fleetcast reconcile (local forge)', () => {
  let fixture: GitFixture;
  let records: string;
  let args: string[];
  before(async () => {
    // A manifest and no deployed model: the manifest is not covered.
    fixture = await createGitFixture({
      'fleet/manifest.json': renderManifest({
        format_version: 1,
        servers: [{ name: 'web-1', profile: 'web', first_seen: '2026-01-01' }],
      }),
    });
    records = await mkdtemp(join(tmpdir(), 'fleetcast-reconcile-cli-'));
    args = [
      'reconcile',
      '--forge=local',
      `--local-repository=${fixture.remote}`,
      `--local-pulls-dir=${records}`,
      '--json',
    ];
  });
  after(async () => {
    await fixture.cleanup();
    await rm(records, { recursive: true, force: true });
  });

  it('opens the tracking issue, waits the initial backoff, then dispatches the retrain', async () => {
    const first = fleetcast([...args, '--now=2026-03-01T00:00:00Z']);
    assert.equal(first.code, 0, first.stderr);
    const out1 = JSON.parse(first.stdout) as {
      status: string;
      issue: { operation: string };
      next_try_at: string;
    };
    assert.equal(out1.status, 'waiting');
    assert.equal(out1.issue.operation, 'created');
    assert.equal(out1.next_try_at, '2026-03-01T01:00:00.000Z');

    const dry = fleetcast([...args, '--now=2026-03-01T02:00:00Z', '--dry-run']);
    assert.equal((JSON.parse(dry.stdout) as { status: string }).status, 'dispatched');
    assert.ok(!(await readdir(records)).includes('runs'), 'a dry run dispatches nothing');

    const second = fleetcast([...args, '--now=2026-03-01T02:00:00Z']);
    assert.equal(second.code, 0, second.stderr);
    const out2 = JSON.parse(second.stdout) as {
      status: string;
      dispatched: string;
      issue: { operation: string };
    };
    assert.equal(out2.status, 'dispatched');
    assert.match(out2.dispatched, /-1-20260301T0200$/);
    assert.equal(out2.issue.operation, 'updated');
    assert.deepEqual(await readdir(join(records, 'runs')), ['1.json']);
    assert.deepEqual(await readdir(join(records, 'issues')), ['1.json']);
  });
});
