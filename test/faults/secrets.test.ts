import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolvePython } from '../../src/core/python.js';
import { deploy } from '../../src/registry/pointer.js';
import { trainerEnv } from '../../src/train/trainer-process.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, removeDir, tempDir, writeMetricsParquet } from '../service/fixtures.js';

/**
 * Fault suite, group "secrets": the admin token and the GitHub token never appear in the logs
 * (at debug level), in /health, /status or any error body of a real `fleetcast serve`, nor in
 * the error of a clone that fails; the trainer's environment holds no secret-looking variable.
 */
const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const ADMIN = 'admin-token-9c1e77f0b2d4a6';
const GITHUB = 'ghp_FAKEsecretsSUITE0123456789abcdefAB';
const B64 = Buffer.from(`x-access-token:${GITHUB}`).toString('base64');
const fleet = fleetOf(4);

interface Served {
  output: () => string;
  url: Promise<string>;
  stop: () => Promise<number | null>;
}

function serve(args: string[], env: Record<string, string>): Served {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'debug', ...env },
  });
  let out = '';
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  const onData = (d: Buffer): void => {
    out += d.toString();
    const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (m) resolveUrl(m[1]!);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => out,
    url,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const clean = (text: string, where: string): void => {
  assert.ok(!text.includes(ADMIN), `${where} shows the admin token`);
  assert.ok(!text.includes(GITHUB), `${where} shows the GitHub token`);
  assert.ok(!text.includes(B64), `${where} shows the GitHub token (base64)`);
};

describe('faults: secrets', () => {
  let dir: string;
  let registry: string;
  let metrics: string;
  let server: Served;
  let url: string;
  const bodies: Array<[string, string]> = [];

  before(async () => {
    dir = await tempDir('fleetcast-faults-secrets-');
    registry = join(dir, 'registry');
    metrics = join(dir, 'metrics.parquet');
    const [id] = await makeTinyModels(join(registry, 'models'), [
      { servers: fleet, resolutionSeconds: 900, lookbackSteps: 8, horizonSteps: 4 },
    ]);
    await deploy(registry, id!, 'first');
    await writeMetricsParquet(metrics, fleet, 6);
    server = serve(
      [
        '--registry',
        registry,
        '--metrics',
        metrics,
        '--port',
        String(20000 + (process.pid % 20000)),
        '--model-thread',
        'main',
      ],
      {
        FLEETCAST_ADMIN_TOKEN: ADMIN,
        GITHUB_TOKEN: GITHUB,
        GH_TOKEN: GITHUB,
      },
    );
    url = await Promise.race([
      server.url,
      new Promise<string>((_, reject) =>
        setTimeout(() => reject(new Error(`serve did not start: ${server.output()}`)), 60_000).unref(),
      ),
    ]);
    const requests: Array<[string, RequestInit]> = [
      ['/health', {}],
      ['/status', {}],
      ['/readyz', {}],
      ['/metrics', {}],
      ['/predict/nobody-1', {}],
      ['/predict/a%2Fb', {}],
      [
        '/predict',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"servers": [' },
      ],
      ['/admin/reload-model', { method: 'POST' }],
      ['/admin/reload-model', { method: 'POST', headers: { authorization: `Bearer ${GITHUB}` } }],
      ['/admin/reload-model', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } }],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${url}${path}`, init);
      bodies.push([
        `${init.method ?? 'GET'} ${path.replace(GITHUB, '<gh>')} (${res.status})`,
        await res.text(),
      ]);
    }
  });
  after(async () => {
    await server?.stop();
    await removeDir(dir);
  });

  it('secrets | the wrong token is refused and the right one accepted (control)', () => {
    const statuses = bodies
      .filter(([name]) => name.startsWith('POST /admin'))
      .map(([name]) => /\((\d+)\)/.exec(name)![1]);
    assert.deepEqual(statuses, ['401', '401', '200']);
  });

  for (let i = 0; i < 10; i++)
    it(`secrets | answer ${i + 1} of a live serve holds no token`, () => {
      const [name, body] = bodies[i]!;
      clean(body, name);
    });

  it('secrets | `fleetcast serve` logs at debug level hold no token, and it stops cleanly', async () => {
    const code = await server.stop();
    clean(server.output(), 'the logs');
    assert.match(server.output(), /listening/);
    assert.equal(code, 0, server.output().slice(-2000));
  });

  it('secrets | serve --git with a token in an unreachable remote → not serving, token in no output for 8 s', async () => {
    const run = spawnSync(
      process.execPath,
      [
        BIN,
        'serve',
        '--git',
        `https://x-access-token:${GITHUB}@127.0.0.1:9/registry.git`,
        '--clone',
        join(dir, 'clone'),
        '--port',
        '1',
      ],
      {
        env: { ...process.env, FLEETCAST_LOG_LEVEL: 'debug', FLEETCAST_ADMIN_TOKEN: ADMIN },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.notEqual(run.status, 0);
    clean(`${run.stdout}${run.stderr}`, 'the output');
  });

  it('secrets | a too-short admin token → exit 2 naming FLEETCAST_ADMIN_TOKEN, not printing it', () => {
    const short = 'shortTOK3n';
    const run = spawnSync(
      process.execPath,
      [BIN, 'serve', '--registry', registry, '--metrics', metrics, '--port', '1'],
      {
        env: { ...process.env, FLEETCAST_ADMIN_TOKEN: short },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /FLEETCAST_ADMIN_TOKEN must be at least/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(short));
  });

  const secretVars = [
    'GITHUB_TOKEN',
    'GH_TOKEN',
    'ACTIONS_RUNTIME_TOKEN',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    'FLEETCAST_ADMIN_TOKEN',
    'FLEETCAST_NOTIFICATION_WEBHOOK',
    'NPM_TOKEN',
    'HF_TOKEN',
    'github_token',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'PYTHON_API_KEY',
    'CUDA_AUTH_COOKIE',
  ];
  for (const name of secretVars)
    it(`secrets | the trainer environment drops ${name}`, () => {
      const env = trainerEnv({ PATH: '/usr/bin', HOME: '/home/x', [name]: 'secret-value-123' });
      assert.equal(env[name], undefined);
      assert.ok(!Object.values(env).includes('secret-value-123'));
      assert.equal(env.PATH, '/usr/bin');
    });

  it('secrets | a real Python child started with the trainer environment sees no *TOKEN* variable', () => {
    const env = trainerEnv({
      ...process.env,
      GITHUB_TOKEN: GITHUB,
      FLEETCAST_ADMIN_TOKEN: ADMIN,
      GH_TOKEN: GITHUB,
    });
    const run = spawnSync(resolvePython(), ['-c', 'import os, json; print(json.dumps(sorted(os.environ)))'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const names = JSON.parse(run.stdout) as string[];
    assert.deepEqual(
      names.filter((n) => /TOKEN|SECRET|KEY|WEBHOOK/i.test(n)),
      [],
    );
  });
});
