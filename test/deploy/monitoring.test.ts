import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { writeManifest } from '../../src/fleet/manifest.js';
import { deploy } from '../../src/registry/pointer.js';
import { PROMTOOL_BIN } from '../helpers/prometheus-fixture.js';
import { killIfRunning, startServe, type ServeProcess } from '../helpers/serve-process.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, removeDir, tempDir, writeMetricsParquet } from '../service/fixtures.js';

// The Grafana dashboard and the alert rules shipped in deploy/ must use the metric names the
// service really exports: checked against GET /metrics of a running `fleetcast serve`.

const root = fileURLToPath(new URL('../../', import.meta.url));
const alertsPath = join(root, 'deploy/prometheus/alerts.yaml');
const alertsTestPath = join(root, 'deploy/prometheus/alerts.test.yaml');
const dashboardPath = join(root, 'deploy/grafana/fleetcast-dashboard.json');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (
  parse(readFileSync(alertsPath, 'utf8')) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Record<string, unknown>;

/** Every PromQL expression of the dashboard: panel targets, template queries, annotations. */
function dashboardExprs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) dashboardExprs(v, out);
  else if (value !== null && typeof value === 'object')
    for (const [key, v] of Object.entries(value)) {
      if ((key === 'expr' || key === 'definition') && typeof v === 'string') out.push(v);
      else dashboardExprs(v, out);
    }
  return out;
}

const metricNames = (exprs: readonly string[]): Set<string> =>
  new Set(exprs.flatMap((e) => e.match(/\bfleetcast_[a-z0-9_]+\b/g) ?? []));

/** Metric families of a Prometheus text exposition: name → type. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function exported(name: string, types: ReadonlyMap<string, string>): boolean {
  if (types.has(name)) return true;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (suffix === null) return false;
  const type = types.get(name.slice(0, -suffix[0].length));
  return type === 'histogram' || (type === 'summary' && suffix[1] !== 'bucket');
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('monitoring: the Grafana dashboard and the alert rules', () => {
  let dir: string;
  let serve: ServeProcess | undefined;
  let metricsText = '';

  before(async () => {
    dir = await tempDir('fleetcast-monitoring-');
    const fleet = fleetOf(4);
    const registry = join(dir, 'registry');
    const [model] = await makeTinyModels(join(registry, 'models'), [{ servers: fleet }]);
    await deploy(registry, model!, 'monitoring test');
    const metrics = join(dir, 'metrics.parquet');
    await writeMetricsParquet(metrics, fleet, 48);
    const manifest = join(dir, 'manifest.json');
    await writeManifest(manifest, {
      format_version: 1,
      servers: fleet.map((s) => ({ ...s, first_seen: '2026-10-01' })),
    });
    serve = await startServe([
      'serve',
      ...['--registry', registry, '--metrics', metrics, '--manifest', manifest],
      ...['--port', '0', '--state-dir', join(dir, 'state')],
    ]);
    assert.equal((await fetch(`${serve.url}/forecast/fleet`)).status, 200);
    metricsText = await (await fetch(`${serve.url}/metrics`)).text();
  });
  after(async () => {
    killIfRunning(serve);
    await removeDir(dir);
  });

  it('every metric the alert rules and the dashboard use is exported by a running service', () => {
    const types = families(metricsText);
    const used = metricNames([...rules.map((r) => r.expr), ...dashboardExprs(dashboard)]);
    assert.ok(used.size >= 20, `only ${used.size} metric names found`);
    for (const name of ['fleetcast_ready', 'fleetcast_fleet_drift_pct', 'fleetcast_live_qrisk'])
      assert.ok(used.has(name), `${name} is used`);
    const missing = [...used].filter((name) => !exported(name, types)).sort();
    assert.deepEqual(missing, [], `not in /metrics: ${missing.join(', ')}`);
  });

  it('the service reports the gauges the alerts read, with values once a model serves', () => {
    for (const line of [
      /^fleetcast_ready 1$/m,
      /^fleetcast_fleet_drift_pct 0$/m,
      /^fleetcast_prediction_coverage_pct 100$/m,
    ])
      assert.match(metricsText, line);
  });

  it('every rule has a severity, a summary, a description and a runbook section in docs/monitoring.md', () => {
    const docs = readFileSync(join(root, 'docs/monitoring.md'), 'utf8');
    const anchors = new Set([...docs.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]!)));
    const names = new Set<string>();
    for (const rule of rules) {
      assert.ok(!names.has(rule.alert), `${rule.alert} is unique`);
      names.add(rule.alert);
      assert.match(rule.labels?.severity ?? '', /^(warning|critical)$/, rule.alert);
      for (const key of ['summary', 'description', 'runbook'])
        assert.ok(rule.annotations?.[key], `${rule.alert} has annotation ${key}`);
      const [file, hash] = rule.annotations!.runbook!.split('#');
      assert.equal(file, 'docs/monitoring.md', rule.alert);
      assert.ok(anchors.has(hash!), `${rule.alert}: docs/monitoring.md has a section #${hash}`);
    }
    const tested = readFileSync(alertsTestPath, 'utf8');
    for (const name of names) assert.ok(tested.includes(`alertname: ${name}`), `${name} has a promtool test`);
  });

  it('the dashboard is importable: unique panel ids, the datasource variable everywhere, panels inside 24 columns', () => {
    const panels = dashboard.panels as Array<Record<string, unknown>>;
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    assert.equal(dashboard.uid, 'fleetcast-service');
    for (const panel of panels) {
      const grid = panel.gridPos as { x: number; w: number };
      assert.ok(grid.x + grid.w <= 24, `${String(panel.title)} fits the grid`);
      if (panel.type === 'row') continue;
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, String(panel.title));
      const refs = (panel.targets as Array<{ refId: string }>).map((t) => t.refId);
      assert.equal(new Set(refs).size, refs.length, `${String(panel.title)}: unique refIds`);
    }
  });

  const promtool = existsSync(PROMTOOL_BIN)
    ? undefined
    : `${PROMTOOL_BIN} not found: install Debian's prometheus package (scripts/ensure-deps.mjs does it as root)`;

  it('promtool check rules accepts alerts.yaml', { skip: promtool }, () => {
    const r = spawnSync(PROMTOOL_BIN, ['check', 'rules', alertsPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it(
    'promtool test rules: every alert fires past its threshold and `for`, and not before',
    { skip: promtool },
    () => {
      const r = spawnSync(PROMTOOL_BIN, ['test', 'rules', alertsTestPath], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /SUCCESS/);
    },
  );
});
