import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderManifest } from '../../src/fleet/manifest.js';
import { generateFleet } from '../../src/synthetic/generator.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { writeLooseGates } from '../validate/fixtures/fleet.js';

/**
 * Replaying history: a fleet whose metrics run to 2013-10-15, every command run "as of"
 * 2013-10-05 with --now. Samples after it must be ignored, and ages measured from it.
 */
const DATA_END = new Date('2013-10-15T00:00:00Z');
const NOW = '2013-10-05T00:00:00Z';

describe('--now replays history on every command that reads data', () => {
  let dir: string;
  let metrics: string;
  let manifest: string;
  let gates: string;
  let rows: number;
  const registry = () => join(dir, 'registry');
  let modelId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-as-of-'));
    metrics = join(dir, 'metrics.parquet');
    const fleet = await generateFleet({
      servers: 4,
      days: 20,
      out: metrics,
      end: DATA_END,
      seed: 7,
      threads: 1,
    });
    rows = fleet.rows;
    manifest = join(dir, 'manifest.json');
    const servers = fleet.plan.servers
      .map((s) => ({ name: s.name, profile: s.profile, first_seen: '2013-09-25' }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    await writeFile(manifest, renderManifest({ format_version: 1, servers }));
    gates = await writeLooseGates(join(dir, 'gates.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('check-data --now leaves later samples out of every check', async () => {
    const all = await fleetcastInProcess(['check-data', '--metrics', metrics, '--json']);
    assert.equal(all.code, 0, all.stdout);
    assert.equal((JSON.parse(all.stdout) as { rows: number }).rows, rows);
    const asOf = await fleetcastInProcess(['check-data', '--metrics', metrics, '--now', NOW, '--json']);
    assert.equal(asOf.code, 0, asOf.stdout);
    const report = JSON.parse(asOf.stdout) as {
      rows: number;
      now: string;
      problems: Array<{ check: string }>;
    };
    assert.equal(report.now, new Date(NOW).toISOString());
    // 10 of the 20 days are after --now: about half the rows are left out, none is "in the future"
    assert.ok(report.rows > rows * 0.45 && report.rows < rows * 0.55, `${report.rows} of ${rows}`);
    assert.ok(!report.problems.some((p) => p.check === 'future_timestamp'));
  });

  it('train --now: the window ends at --now and its held-out days are the last before it', async () => {
    const result = await fleetcastInProcess([
      'train',
      '--metrics',
      metrics,
      '--manifest',
      manifest,
      '--registry',
      registry(),
      '--profile',
      'smoke',
      '--epochs',
      '1',
      '--days',
      '9',
      '--gates',
      gates,
      '--now',
      NOW,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = JSON.parse(result.stdout) as {
      model_id: string;
      passed: boolean;
      training_info: {
        data: { start: string; end: string; n_steps: number; train_end_step: number; source: string };
      };
      validation: { accuracy: { window: { start: string; end: string } } | null };
    };
    assert.equal(out.passed, true);
    modelId = out.model_id;
    const data = out.training_info.data;
    assert.equal(data.end, '2013-10-05T00:00:00.000Z', 'the window ends at --now, not at the newest sample');
    assert.equal(data.start, '2013-09-26T00:00:00.000Z');
    assert.match(data.source, /as of 2013-10-05T00:00:00\.000Z/);
    assert.ok(data.train_end_step < data.n_steps);
    assert.equal(out.validation.accuracy?.window.end, '2013-10-05T00:00:00.000Z');
  });

  it('validate --now scores the held-out days before --now', async () => {
    const result = await fleetcastInProcess([
      'validate',
      '--model-dir',
      join(registry(), 'models', modelId),
      '--manifest',
      manifest,
      '--metrics',
      metrics,
      '--gates',
      gates,
      '--now',
      NOW,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as {
      coverage: { percent: number };
      accuracy: { window: { end: string } } | null;
    };
    assert.equal(report.coverage.percent, 100);
    assert.equal(report.accuracy?.window.end, '2013-10-05T00:00:00.000Z');
  });

  it('drift --now ages the model from the end of its data, never negatively', async () => {
    const deployed = await fleetcastInProcess(['deploy', '--registry', registry(), '--model-id', modelId]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const drift = async (now: string) => {
      const run = await fleetcastInProcess([
        'drift',
        '--metrics',
        metrics,
        '--registry',
        registry(),
        '--now',
        now,
        '--no-events',
        '--json',
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      return JSON.parse(run.stdout) as {
        model_age_days: number | null;
        model: { age_from: string | null; data_end: string | null; age_note: string | null };
        reasons: string[];
      };
    };
    // trained today (2026 or later) on data up to 2013-10-05: three days old on 2013-10-08
    const later = await drift('2013-10-08');
    assert.equal(later.model_age_days, 3);
    assert.equal(later.model.age_from, 'data_end');
    assert.equal(later.model.data_end, '2013-10-05T00:00:00.000Z');
    assert.equal(later.model.age_note, null);

    const earlier = await drift('2013-09-29');
    assert.equal(earlier.model_age_days, null);
    assert.match(
      earlier.model.age_note ?? '',
      /trained on data up to 2013-10-05T00:00:00\.000Z, which is after now/,
    );
    assert.match(earlier.reasons.join(' '), /staleness rule is not applied/);

    const text = await fleetcastInProcess([
      'drift',
      '--metrics',
      metrics,
      '--registry',
      registry(),
      '--now',
      '2013-09-29',
      '--no-events',
    ]);
    assert.match(text.stdout, /trained on data up to 2013-10-05T00:00:00\.000Z, which is after now/);
    assert.doesNotMatch(text.stdout, /-\d+(\.\d+)? days old/);
  });
});
