import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDemoWorkspace, type DemoWorkspace } from '../../src/demo/workspace.js';
import { generateFleet } from '../../src/synthetic/generator.js';

const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));

function fleetcast(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'error', GITHUB_TOKEN: '', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// `fleetcast drift-pr` is what the Kubernetes CronJob runs: the drift workflow outside Actions.
describe('fleetcast drift-pr (local forge)', () => {
  let ws: DemoWorkspace;
  let metrics: string;
  let args: string[];

  before(async () => {
    ws = await createDemoWorkspace();
    metrics = join(ws.dataDir, 'm.parquet');
    await generateFleet({
      servers: 6,
      days: 10,
      out: metrics,
      seed: 1,
      end: new Date('2026-11-20T00:00:00Z'),
    });
    args = [
      'drift-pr',
      `--metrics=${metrics}`,
      `--repo-dir=${ws.clone}`,
      '--forge=local',
      `--local-repository=${ws.origin}`,
      `--local-pulls-dir=${ws.pullsDir}`,
      `--config=${join(ws.root, 'no-config.json')}`,
      '--json',
    ];
  });
  after(() => ws.remove());

  it('opens one pull request, and leaves it unchanged on the next run', async () => {
    const first = fleetcast(args.filter((a) => !a.startsWith('--config')));
    assert.equal(first.code, 0, first.stderr);
    const created = JSON.parse(first.stdout) as { operation: string; pull_request: { number: number } };
    assert.equal(created.operation, 'created');
    const pr = JSON.parse(
      await readFile(join(ws.pullsDir, `${created.pull_request.number}.json`), 'utf8'),
    ) as {
      body: string;
      head: string;
    };
    assert.equal(pr.head, 'fleetcast/drift/main');
    assert.match(pr.body, /### New servers \(6\)/);

    const second = fleetcast(args.filter((a) => !a.startsWith('--config')));
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { operation: string }).operation, 'unchanged');
  });

  it('names the missing setting for the GitHub forge, and a missing config file', () => {
    const github = fleetcast(['drift-pr', `--metrics=${metrics}`, `--repo-dir=${ws.clone}`]);
    assert.equal(github.code, 2);
    assert.match(github.stderr, /token: required when forge is github/);
    assert.match(github.stderr, /repository: must be owner\/name/);
    const config = fleetcast(args);
    assert.equal(config.code, 2, config.stderr);
    assert.match(config.stderr, /no-config\.json/);
  });
});
