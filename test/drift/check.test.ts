import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDriftCheck } from '../../src/drift/check.js';
import { renderDriftText } from '../../src/drift/render.js';
import { parseServerList, readRegistryVocabulary } from '../../src/drift/vocabulary.js';
import { ServiceUnknownCounts } from '../../src/drift/unknown-rate.js';
import { EventLog, parseEvents } from '../../src/core/events-log.js';
import { generateFleet, type GenerateResult } from '../../src/synthetic/generator.js';
import type { PlanFile } from '../../src/synthetic/plan-file.js';
import { renderChecksums, sha256Text } from '../../src/registry/checksums.js';
import { DEFAULT_RETRAIN_CONFIG } from '../../src/config/retrain-config.js';
import { writeManifest } from '../../src/fleet/manifest.js';
import { FleetcastError, InputError } from '../../src/core/errors.js';

const END = new Date('2026-11-20T00:00:00Z');
const CONFIG = { config: DEFAULT_RETRAIN_CONFIG, source: 'defaults' };
const MODEL_ID = 'tft-20261101T000000Z-abc123';

/** A registry with one deployed model whose vocabulary is `servers`. */
async function writeRegistry(
  dir: string,
  servers: string[],
  trainedAt = '2026-11-01T02:00:00Z',
  data?: Record<string, unknown>,
): Promise<void> {
  const modelDir = join(dir, 'models', MODEL_ID);
  await mkdir(modelDir, { recursive: true });
  const encoders = {
    format_version: 1,
    model_id: MODEL_ID,
    server_id: {
      unknown_index: 0,
      num_embeddings: servers.length + 1,
      classes: Object.fromEntries(servers.map((s, i) => [s, i + 1])),
    },
    profile: { unknown_index: 0, classes: { web: 1 } },
    server_profiles: {},
    observed_features: ['cpu_pct'],
    known_features: ['tod_sin'],
    targets: ['cpu_pct'],
    quantiles: [0.1, 0.5, 0.9],
    resolution_seconds: 900,
    lookback_steps: 96,
    horizon_steps: 24,
  };
  const files = new Map<string, string>([
    ['encoders.json', JSON.stringify(encoders)],
    [
      'training_info.json',
      JSON.stringify({ finished_at: trainedAt, other: 'ignored', ...(data ? { data } : {}) }),
    ],
  ]);
  for (const [name, text] of files) await writeFile(join(modelDir, name), text);
  const sums = renderChecksums(new Map([...files].map(([name, text]) => [name, sha256Text(text)])));
  await writeFile(join(modelDir, 'SHA256SUMS'), sums);
  await writeFile(
    join(dir, 'current.json'),
    JSON.stringify({
      format_version: 1,
      model_id: MODEL_ID,
      sha256: sha256Text(sums),
      deployed_at: '2026-11-01T03:00:00.000Z',
      previous_model_id: null,
      reason: 'test',
    }),
  );
}

describe('drift check (I/O edge)', () => {
  let dir: string;
  let fleet: GenerateResult;
  let plan: PlanFile;
  let baseServers: string[];
  let http: Server;
  let statusBody: unknown = {
    unknown_predictions: { unknown: 30, total: 200, window_seconds: 3600, rate_pct: 15, level: 'warning' },
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-drift-'));
    fleet = await generateFleet({
      servers: 20,
      days: 40,
      out: join(dir, 'm.parquet'),
      seed: 5,
      end: END,
      add: 4,
      sunset: 3,
    });
    plan = JSON.parse(await readFile(fleet.planPath, 'utf8')) as PlanFile;
    baseServers = fleet.plan.servers.filter((s) => s.kind !== 'added').map((s) => s.name);
    http = createServer((req, res) => {
      if (req.url !== '/status') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(statusBody));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => http.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the planted new, sunset and pending servers against a server list', async () => {
    const list = join(dir, 'servers.txt');
    await writeFile(list, `# the model's servers\n${baseServers.join('\n')}\n`);
    const events = join(dir, 'events.jsonl');
    const report = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      now: END,
      config: CONFIG,
      events: new EventLog(events),
    });
    const eligibleAdded = plan.planted
      .filter((p) => p.kind === 'added' && p.expected_eligible)
      .map((p) => p.name);
    const pendingAdded = plan.planted
      .filter((p) => p.kind === 'added' && !p.expected_eligible)
      .map((p) => p.name);
    const confirmed = plan.planted.filter((p) => p.expected_status === 'sunset_confirmed').map((p) => p.name);
    assert.deepEqual(
      report.new_servers.map((s) => s.name),
      eligibleAdded.sort(),
    );
    assert.deepEqual(
      report.pending_servers.map((s) => s.name),
      pendingAdded.sort(),
    );
    assert.deepEqual(
      report.sunset_servers.map((s) => s.name),
      confirmed.sort(),
    );
    assert.equal(
      report.drift_pct,
      Math.round(((eligibleAdded.length + confirmed.length) / 20) * 10000) / 100,
    );
    assert.equal(report.fleet.total, 24);
    assert.ok(report.pending_servers.every((p) => p.eligible_at !== null && p.eligible_at > report.now));
    const logged = parseEvents(await readFile(events, 'utf8'), events);
    assert.deepEqual(
      logged.map((e) => e.event),
      ['drift_check', 'retrain_triggered'],
    );
    assert.equal(logged[0]!.data.drift_pct, report.drift_pct);
  });

  it('reads the vocabulary and model age from a registry', async () => {
    const registry = join(dir, 'registry');
    await writeRegistry(registry, baseServers);
    const vocabulary = await readRegistryVocabulary(registry);
    assert.equal(vocabulary.id, MODEL_ID);
    assert.deepEqual(vocabulary.servers, [...baseServers].sort());
    const report = await runDriftCheck({
      metrics: fleet.path,
      registry,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(report.model.id, MODEL_ID);
    assert.equal(report.model.age_days, 18.92);
    assert.equal(report.model_age_days, 18.92);
    // this training_info.json predates data.end: the age is from its creation, and the report says so
    assert.equal(report.model.age_from, 'created_at');
    assert.equal(report.model.data_end, null);
    assert.match(report.model.age_note!, /does not say when its data ends/);
  });

  it('measures the model age from the end of its training data (a replay with --now in the past)', async () => {
    const registry = join(dir, 'replay-registry');
    // trained "today" (after --now) on data that ended five days before --now
    await writeRegistry(registry, baseServers, new Date().toISOString(), {
      end: '2026-11-15T00:00:00.000Z',
      resolution_seconds: 900,
      holdout_servers: [],
    });
    const report = await runDriftCheck({
      metrics: fleet.path,
      registry,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(report.model.data_end, '2026-11-15T00:00:00.000Z');
    assert.equal(report.model.age_from, 'data_end');
    assert.equal(report.model_age_days, 5);
    assert.equal(report.model.age_note, null);
    assert.match(renderDriftText(report), /5\.0 days old \(its data ends 2026-11-15\)/);

    const early = await runDriftCheck({
      metrics: fleet.path,
      registry,
      now: new Date('2026-11-10T00:00:00Z'),
      config: CONFIG,
      events: null,
    });
    assert.equal(early.model_age_days, null);
    assert.equal(early.stale, false);
    assert.match(
      renderDriftText(early),
      /trained on data up to 2026-11-15T00:00:00\.000Z, which is after now \(2026-11-10T00:00:00\.000Z\)/,
    );
    assert.doesNotMatch(renderDriftText(early), /-\d+(\.\d+)? days old/);
  });

  it('refuses model files that do not match SHA256SUMS', async () => {
    const registry = join(dir, 'tampered');
    await writeRegistry(registry, baseServers);
    await writeFile(join(registry, 'models', MODEL_ID, 'encoders.json'), '{}');
    await assert.rejects(
      readRegistryVocabulary(registry),
      (e: unknown) => e instanceof FleetcastError && /sha256 mismatch/.test(e.message),
    );
  });

  it('an empty registry means no model deployed, and retrain', async () => {
    const registry = join(dir, 'empty-registry');
    await mkdir(join(registry, 'models'), { recursive: true });
    const report = await runDriftCheck({
      metrics: fleet.path,
      registry,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(report.model.deployed, false);
    assert.equal(report.decision.retrain, true);
    assert.match(report.reasons[0]!, /No model is deployed/);
  });

  it('takes the unknown-prediction rate from a file or from the service', async () => {
    const list = join(dir, 'servers.txt');
    const counts = join(dir, 'counts.json');
    await writeFile(counts, JSON.stringify({ unknown: 20, total: 100 }));
    const fromFile = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      unknownCounts: counts,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.deepEqual(fromFile.unknown_rate, {
      unknown: 20,
      total: 100,
      rate_pct: 20,
      level: 'critical',
      source: `file ${counts}`,
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const fromService = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      serviceUrl: url,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(fromService.unknown_rate?.rate_pct, 15);
    assert.equal(fromService.unknown_rate?.level, 'warning');
    statusBody = { something: 'else' };
    await assert.rejects(new ServiceUnknownCounts(url).read(), /unknown_predictions/);
    await assert.rejects(new ServiceUnknownCounts(`${url}/missing`).read(), /HTTP 404/);
    await writeFile(counts, JSON.stringify({ unknown: 5, total: 2 }));
    await assert.rejects(
      runDriftCheck({
        metrics: fleet.path,
        modelServers: list,
        unknownCounts: counts,
        now: END,
        config: CONFIG,
        events: null,
      }),
      (e: unknown) =>
        e instanceof InputError && /counts\.json: unknown: unknown must be ≤ total/.test(e.message),
    );
  });

  it('compares the proposed manifest with the current one', async () => {
    const list = join(dir, 'servers.txt');
    const manifest = join(dir, 'fleet', 'manifest.json');
    const missing = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      manifest,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(missing.manifest_change.changed, true);
    await writeManifest(manifest, missing.manifest);
    const same = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      manifest,
      now: END,
      config: CONFIG,
      events: null,
    });
    assert.equal(same.manifest_change.changed, false);
    assert.deepEqual(same.manifest, missing.manifest);
    assert.match(same.reasons.join(' '), /manifest\.json is up to date \(\d+ servers\)/);
  });

  it('needs exactly one vocabulary source', async () => {
    await assert.rejects(
      runDriftCheck({ metrics: fleet.path, now: END, config: CONFIG, events: null }),
      /exactly one of --model-servers/,
    );
  });

  it('ignores samples after --now and says so', async () => {
    const list = join(dir, 'servers.txt');
    const earlier = new Date(END.getTime() - 2 * 86_400_000);
    const report = await runDriftCheck({
      metrics: fleet.path,
      modelServers: list,
      now: earlier,
      config: CONFIG,
      events: null,
    });
    assert.match(report.warnings.join(' '), /samples are later than now/);
    assert.ok(
      report.new_servers.length + report.pending_servers.length < 4,
      'the youngest added server did not exist yet',
    );
  });
});

describe('server list files', () => {
  it('skips comments and blank lines', () => {
    assert.deepEqual(parseServerList('# header\nweb-1\n\n  db-1  # primary\n', 'l'), ['web-1', 'db-1']);
  });
  const bad: Array<[string, RegExp]> = [
    ['web-1\nweb/2\n', /^l:2: invalid server name "web\/2": .*path separator/],
    ['web-1\n<b>x</b>\n', /^l:2: invalid server name/],
    ["a'b\n", /^l:1: invalid server name/],
    ['web-1\nweb-1\n', /^l:2: duplicate server web-1 \(first on line 1\)/],
  ];
  for (const [text, message] of bad)
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseServerList(text, 'l'),
        (e: unknown) => e instanceof InputError && message.test(e.message),
      );
    });
});
