import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deploy, readPointer } from '../../src/registry/pointer.js';
import { Pointer } from '../../src/registry/schemas.js';
import { assertOneChain } from '../helpers/pointer-chain.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const BARRIER = fileURLToPath(new URL('../helpers/pointer-read-barrier.mjs', import.meta.url));
const servers = [
  { name: 'web-0001', profile: 'web' },
  { name: 'db-0001', profile: 'database' },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function fleetcast(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ['--import', BARRIER, BIN, ...args], {
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('concurrent `fleetcast deploy` processes', () => {
  let root: string;
  let registry: string;
  let ids: string[];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-deploy-race-'));
    registry = join(root, 'registry');
    ids = await makeTinyModels(
      join(registry, 'models'),
      Array.from({ length: 7 }, (_, seed) => ({ servers, seed, validation: { passed: true } })),
    );
    await deploy(registry, ids[0]!, 'first');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('six at once: each one that says "deployed" replaced the model serving just before it', async () => {
    const env = { FLEETCAST_TEST_BARRIER_DIR: join(root, 'barrier') };
    const runs = await Promise.all(
      ids
        .slice(1)
        .map((id) =>
          fleetcast(
            ['deploy', '--registry', registry, '--model-id', id, '--reason', `race ${id}`, '--json'],
            env,
          ),
        ),
    );
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const pointers = runs.map((run) => {
      const out = JSON.parse(run.stdout) as { changed: boolean; pointer: unknown };
      assert.equal(out.changed, true);
      return Pointer.parse(out.pointer);
    });
    const last = assertOneChain(ids[0]!, pointers);
    assert.equal((await readPointer(registry))!.model_id, last);
  });
});
