import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  describeEvent,
  formatDuration,
  runTrainer,
  type TrainerEvent,
} from '../../src/train/trainer-process.js';
import { FleetcastError, InputError } from '../../src/core/errors.js';

/** A stand-in interpreter: prints what a trainer would, then exits with the given code. */
async function fakePython(
  dir: string,
  name: string,
  stdout: string[],
  stderr: string[],
  code: number,
): Promise<string> {
  const path = join(dir, name);
  const lines = [
    '#!/bin/sh',
    ...stdout.map((l) => `printf '%s\\n' '${l}'`),
    ...stderr.map((l) => `printf '%s\\n' '${l}' >&2`),
    `exit ${code}`,
  ];
  await writeFile(path, `${lines.join('\n')}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('trainer process', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-trainer-proc-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));
  const args = { dataset: '/nowhere/dataset', out: '/nowhere/out', profile: 'smoke', seed: 0 };

  it('relays JSON progress lines and ignores other output', async () => {
    const python = await fakePython(
      dir,
      'ok.sh',
      [
        'not json',
        '{"event":"start","profile":"smoke","device":"cpu","epochs":2}',
        '{"event":"epoch","epoch":1,"epochs":2,"train_loss":0.5,"val_loss":0.4,"seconds":3,"eta_seconds":75}',
      ],
      ['human progress'],
      0,
    );
    const seen: TrainerEvent[] = [];
    const run = await runTrainer(args, (e) => seen.push(e), { FLEETCAST_PYTHON: python });
    assert.deepEqual(
      seen.map((e) => e.event),
      ['start', 'epoch'],
    );
    assert.equal(run.events.length, 2);
    assert.equal(describeEvent(seen[1]!), 'train: epoch 1/2: loss 0.5000, val 0.4000 (3.0s, ETA 1m15s)');
    // the time budget ends training before the remaining epochs would
    assert.match(describeEvent(seen[1]!, 30)!, /ETA 30s\)$/);
  });

  it('a dataset error (exit 2) is an InputError with the tail of stderr', async () => {
    const python = await fakePython(
      dir,
      'bad.sh',
      ['{"event":"error","exit_code":2,"message":"dataset.json: missing field(s) split"}'],
      ['Traceback line', 'error: dataset.json: missing field(s) split'],
      2,
    );
    await assert.rejects(
      runTrainer(args, () => {}, { FLEETCAST_PYTHON: python }),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /trainer failed: dataset\.json: missing field\(s\) split/);
        assert.match(error.message, /last lines of the trainer's stderr ---\nTraceback line\nerror: dataset/);
        return true;
      },
    );
  });

  it('a crash is a runtime failure naming the exit code', async () => {
    const python = await fakePython(dir, 'crash.sh', [], ['Segmentation fault'], 139);
    await assert.rejects(
      runTrainer(args, () => {}, { FLEETCAST_PYTHON: python }),
      (error: unknown) => {
        assert.ok(error instanceof FleetcastError && !(error instanceof InputError));
        assert.match(error.message, /exit code 139[\s\S]*Segmentation fault/);
        return true;
      },
    );
  });

  it('passes the trainer an allow-listed environment: no tokens, keys, passwords or webhooks', async () => {
    const envFile = join(dir, 'env.txt');
    const python = join(dir, 'print-env.sh');
    await writeFile(python, `#!/bin/sh\nenv > '${envFile}'\n`);
    await chmod(python, 0o755);
    const secrets = {
      GITHUB_TOKEN: 'ghp_secret',
      FLEETCAST_ADMIN_TOKEN: 'admin-secret',
      FLEETCAST_NOTIFICATION_WEBHOOK: 'https://hooks.slack.com/services/secret',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/secret2',
      AWS_ACCESS_KEY_ID: 'AKIAsecret',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      AWS_SESSION_TOKEN: 'aws-session',
      NPM_TOKEN: 'npm-secret',
      MY_API_KEY: 'key-secret',
      DB_PASSWORD: 'pw-secret',
      FLEETCAST_DB_PASSWORD: 'pw-secret2',
      PYTHON_KEYRING_PASSWORD: 'pw-secret3',
      ACTIONS_RUNTIME_TOKEN: 'runtime-secret',
      SOME_UNRELATED_VAR: 'not needed',
    };
    const kept = {
      PATH: '/usr/bin:/bin',
      HOME: '/home/trainer',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TMPDIR: '/tmp',
      PYTHONHASHSEED: '0',
      CUDA_VISIBLE_DEVICES: '0',
      NVIDIA_VISIBLE_DEVICES: 'all',
      OMP_NUM_THREADS: '2',
      MKL_NUM_THREADS: '2',
      FLEETCAST_LOG_LEVEL: 'warn',
    };
    await runTrainer(args, () => {}, { ...secrets, ...kept, FLEETCAST_PYTHON: python });
    const seen = Object.fromEntries(
      (await readFile(envFile, 'utf8'))
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    for (const name of Object.keys(secrets))
      assert.equal(seen[name], undefined, `${name} reached the trainer`);
    for (const [name, value] of Object.entries(kept)) assert.equal(seen[name], value, name);
    assert.ok(seen.PYTHONPATH?.startsWith('/'), 'PYTHONPATH has trainer/');
    assert.equal(seen.PYTHONUNBUFFERED, '1');
  });

  it('formats durations for ETAs', () => {
    assert.equal(formatDuration(5.4), '5s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(3 * 3600 + 60), '3h01m');
  });
});
