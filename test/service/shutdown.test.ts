import assert from 'node:assert/strict';
import { request } from 'node:http';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeManifest } from '../../src/fleet/manifest.js';
import { deploy } from '../../src/registry/pointer.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { cli, killIfRunning, sleep, startServe, type ServeProcess } from '../helpers/serve-process.js';
import { fleetOf, removeDir, tempDir, writeMetricsParquet } from './fixtures.js';
import { spawnSync } from 'node:child_process';

// `fleetcast serve --model-id` (a pinned instance) and POST /admin/shutdown, on real processes.

const M1 = 'tft-20261001T000000Z-d1d1d1';
const M2 = 'tft-20261101T000000Z-d2d2d2';
const SHORT = 'tft-20261102T000000Z-d3d3d3';
const TAMPERED = 'tft-20261103T000000Z-d4d4d4';
const TOKEN = 'test-admin-token-0123456789';
const fleet = fleetOf(6);

/** A POST /predict whose body arrives only when `finish()` is called: in flight until then. */
function slowPredict(url: string): { finish(): void; answer: Promise<{ status: number; body: string }> } {
  const body = JSON.stringify({ servers: [fleet[0]!.name] });
  const { hostname, port } = new URL(url);
  let finish = (): void => undefined;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path: '/predict',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 5));
    req.flushHeaders();
    finish = () => req.end(body.slice(5));
  });
  return { finish: () => finish(), answer };
}

describe('fleetcast serve --model-id and POST /admin/shutdown (real processes)', () => {
  let root: string;
  let registry: string;
  let metrics: string;
  let manifest: string;
  let pinned: ServeProcess | undefined;

  const serveArgs = (modelId: string): string[] => [
    'serve',
    '--registry',
    registry,
    '--metrics',
    metrics,
    '--manifest',
    manifest,
    '--port',
    '0',
    '--state-dir',
    join(root, `state-${modelId}`),
    '--model-id',
    modelId,
    '--shutdown-grace',
    '1500ms',
  ];

  before(async () => {
    root = await tempDir();
    registry = join(root, 'registry');
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 3 },
      { modelId: SHORT, servers: fleet.slice(1) },
      { modelId: TAMPERED, servers: fleet },
    ]);
    await appendFile(join(registry, 'models', TAMPERED, 'encoders.json'), '\n');
    await deploy(registry, M1, 'the pointer names M1');
    metrics = join(root, 'metrics.parquet');
    await writeMetricsParquet(metrics, fleet, 48);
    manifest = join(root, 'manifest.json');
    await writeManifest(manifest, {
      format_version: 1,
      servers: fleet.map((s) => ({ ...s, first_seen: '2026-10-01' })),
    });
  });
  after(async () => {
    killIfRunning(pinned);
    await removeDir(root);
  });

  it('a pinned instance serves its model, not the one current.json names', async () => {
    pinned = await startServe(serveArgs(M2), { FLEETCAST_ADMIN_TOKEN: TOKEN });
    const ready = (await (await fetch(`${pinned.url}/readyz`)).json()) as { model_id: string };
    assert.equal(ready.model_id, M2);
    const health = (await (await fetch(`${pinned.url}/health`)).json()) as { pointer_reason: string };
    assert.match(health.pointer_reason, /pinned by fleetcast serve --model-id/);
    const text = await (await fetch(`${pinned.url}/metrics`)).text();
    assert.match(text, /^fleetcast_ready 1$/m);
    assert.match(text, /^fleetcast_fleet_drift_pct 0$/m);
  });

  it('refuses to start with a model whose files do not verify (exit 2) or that misses the manifest (exit 3)', () => {
    for (const [model, code, pattern] of [
      [TAMPERED, 2, /encoders\.json: sha256 mismatch/],
      [
        SHORT,
        3,
        new RegExp(`--model-id ${SHORT} refused: .*lacks 1 manifest server\\(s\\).*${fleet[0]!.name}`),
      ],
    ] as const) {
      const r = spawnSync(process.execPath, [cli, ...serveArgs(model)], {
        encoding: 'utf8',
        env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn' },
        timeout: 60_000,
      });
      assert.equal(r.status, code, `${model}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
    const bad = spawnSync(process.execPath, [cli, ...serveArgs(M2), '--sha256', 'a'.repeat(64)], {
      encoding: 'utf8',
      env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /does not match --sha256/);
  });

  it('POST /admin/shutdown: token required, 202, not ready at once, answers through the grace, drains, exits 0', async () => {
    const url = pinned!.url;
    const shutdown = (auth?: string): Promise<Response> =>
      fetch(`${url}/admin/shutdown`, {
        method: 'POST',
        ...(auth !== undefined ? { headers: { authorization: auth } } : {}),
      });
    assert.equal((await shutdown()).status, 401);
    assert.equal((await shutdown('Bearer wrong-token-0123456789')).status, 401);
    assert.equal(await (await fetch(`${url}/readyz`)).status, 200, 'a refused request changes nothing');

    const inFlight = slowPredict(url);
    await sleep(100);
    const accepted = await shutdown(`Bearer ${TOKEN}`);
    assert.equal(accepted.status, 202);
    const body = (await accepted.json()) as { status: string; grace_seconds: number; drain_at: string };
    assert.equal(body.status, 'shutting_down');
    assert.equal(body.grace_seconds, 1.5);

    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(
      ((await ready.json()) as { reason: string }).reason,
      /shutting down \(requested by POST \/admin\/shutdown/,
    );
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^fleetcast_ready 0$/m);
    // the load balancer has not noticed yet: forecasts are still answered during the grace period
    assert.equal((await fetch(`${url}/predict/${fleet[1]!.name}`)).status, 200);
    const again = (await (await shutdown(`Bearer ${TOKEN}`)).json()) as { drain_at: string };
    assert.equal(again.drain_at, body.drain_at, 'a repeated request answers the first one');

    await sleep(Math.max(0, Date.parse(body.drain_at) - Date.now()) + 500);
    // draining: the request that was in flight when the drain began still gets its answer
    inFlight.finish();
    const answer = await inFlight.answer;
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { model_id: string }).model_id, M2);
    assert.equal(await pinned!.exited, 0, pinned!.output());
  });
});
