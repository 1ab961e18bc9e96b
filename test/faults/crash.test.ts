import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pointerPath } from '../../src/registry/layout.js';
import { deploy, parsePointer, readPointer } from '../../src/registry/pointer.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

/**
 * Fault suite, group "crash": `fleetcast deploy` is killed with SIGKILL at a named phase of the
 * pointer write or before its Nth filesystem call (test/helpers/kill-at.mjs; a deploy makes about
 * 31). Afterwards current.json is the old pointer or the new one, whole and parseable; the next
 * deploy succeeds and leaves no temp file and no lock behind.
 */
const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const KILL_AT = fileURLToPath(new URL('../helpers/kill-at.mjs', import.meta.url));
const servers = [
  { name: 'web-0001', profile: 'web' },
  { name: 'db-0001', profile: 'database' },
];

const POINTS = [
  'lock-taken',
  'tmp-opened',
  'before-rename',
  'after-rename',
  ...[1, 5, 10, 11, 15, 20, 24, 25, 26, 27, 28, 29, 30, 31].map((n) => `op:${n}`),
];

function killedDeploy(
  registry: string,
  modelId: string,
  at: string,
): Promise<{ signal: string | null; code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      KILL_AT,
      BIN,
      'deploy',
      '--registry',
      registry,
      '--model-id',
      modelId,
      '--reason',
      `crash at ${at}`,
    ],
    {
      env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn', FLEETCAST_TEST_KILL_AT: at },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('faults: crash consistency of fleetcast deploy', () => {
  let root: string;
  let registry: string;
  let ids: string[];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-faults-crash-'));
    registry = join(root, 'registry');
    ids = await makeTinyModels(
      join(registry, 'models'),
      [0, 1].map((seed) => ({ servers, seed, validation: { passed: true } })),
    );
    await deploy(registry, ids[0]!, 'first');
  });
  after(() => rm(root, { recursive: true, force: true }));

  const leftovers = async (): Promise<string[]> =>
    (await readdir(registry)).filter((n) => n.startsWith('.current.json'));

  for (const at of POINTS)
    it(`crash | deploy killed -9 at ${at} → current.json old or new, whole; next deploy succeeds and cleans up`, async () => {
      const old = await readPointer(registry);
      const oldText = await readFile(pointerPath(registry), 'utf8');
      const target = old!.model_id === ids[0] ? ids[1]! : ids[0]!;
      const run = await killedDeploy(registry, target, at);
      assert.equal(
        run.signal,
        'SIGKILL',
        `the process was not killed at ${at} (code ${run.code}): ${run.stderr}`,
      );

      const text = await readFile(pointerPath(registry), 'utf8');
      const pointer = parsePointer(text, 'current.json');
      if (text !== oldText) {
        assert.equal(pointer.model_id, target, 'a changed pointer names the new model');
        assert.equal(pointer.previous_model_id, old!.model_id);
      }

      // By design a killed writer's hidden temp file is removed by the next write once it is older
      // than STALE_TEMP_MS (an hour; src/registry/pointer.ts): age it so this write must remove it.
      const hour = new Date(Date.now() - 2 * 3600_000);
      for (const name of await leftovers())
        if (name.endsWith('.tmp')) await utimes(join(registry, name), hour, hour);

      const next = pointer.model_id === ids[0] ? ids[1]! : ids[0]!;
      const again = await fleetcastInProcess([
        'deploy',
        '--registry',
        registry,
        '--model-id',
        next,
        '--reason',
        `after ${at}`,
      ]);
      assert.equal(again.code, 0, `${again.stdout}${again.stderr}`);
      assert.equal((await readPointer(registry))!.model_id, next);
      assert.deepEqual(await leftovers(), [], 'temp files or locks left behind');
    });
});
