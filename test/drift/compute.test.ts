import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeDrift, type DriftInput } from '../../src/drift/compute.js';
import { driftPriority, fleetDrift, thresholdsOf, unknownRateLevel } from '../../src/drift/levels.js';
import { DEFAULT_RETRAIN_CONFIG } from '../../src/config/retrain-config.js';
import type { FleetServer } from '../../src/fleet/assess.js';
import type { ModelVocabulary } from '../../src/drift/vocabulary.js';
import { parseDriftReport } from '../../src/drift/report-file.js';
import { driftReport } from '../helpers/drift-report-fixture.js';

const T = thresholdsOf(DEFAULT_RETRAIN_CONFIG);
const NOW = new Date('2026-11-20T00:00:00Z');
const DAY = 86_400_000;

function server(name: string, overrides: Partial<FleetServer> = {}): FleetServer {
  return {
    name,
    profile: 'web',
    firstSeen: new Date(NOW.getTime() - 30 * DAY),
    lastSeen: new Date(NOW.getTime() - 300_000),
    samples: 8640,
    status: 'active',
    daysSilent: 0,
    historyDays: 30,
    eligible: true,
    eligibleAt: null,
    pendingReasons: [],
    ...overrides,
  };
}

/** A deployed model whose training data ends when it was trained (unless `extra` says otherwise). */
const model = (servers: string[], extra: Partial<ModelVocabulary> = {}): ModelVocabulary => {
  const trainedAt = extra.trainedAt ?? new Date(NOW.getTime() - 10 * DAY);
  return {
    id: 'tft-20261101T000000Z-abcdef',
    servers,
    trainedAt,
    trainedOn: trainedAt === null ? null : { end: trainedAt, resolutionSeconds: 900 },
    source: 'test',
    deployed: true,
    ...extra,
  };
};

function input(
  fleet: FleetServer[],
  vocabulary: ModelVocabulary,
  extra: Partial<DriftInput> = {},
): DriftInput {
  return {
    now: NOW,
    generatedAt: NOW,
    source: 'test',
    configSource: 'defaults',
    fleet,
    rejected: [],
    model: vocabulary,
    unknownCounts: null,
    thresholds: T,
    currentManifest: null,
    ...extra,
  };
}

const names = (n: number, prefix = 's'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe("fleet drift (the design's fleet drift calculation test)", () => {
  it('2 new servers out of 3 known is 66.67 %', () => {
    const drift = fleetDrift(['s1', 's2', 's3', 's4', 's5'], ['s1', 's2', 's3']);
    assert.equal(drift.drift_pct, 66.67);
    assert.deepEqual(new Set(drift.new_servers), new Set(['s4', 's5']));
    assert.deepEqual(drift.sunset_servers, []);
  });

  it('the same through computeDrift, from a fleet', () => {
    const report = computeDrift(
      input(
        names(5).map((n) => server(n)),
        model(['s1', 's2', 's3']),
      ),
    );
    assert.equal(report.drift_pct, 66.67);
    assert.deepEqual(
      report.new_servers.map((s) => s.name),
      ['s4', 's5'],
    );
    assert.equal(report.priority, 'high');
    assert.equal(report.decision.retrain, true);
  });

  it("the design's example: 20 known, 5 new, 2 sunset = 35 % is medium", () => {
    const known = names(20);
    const fleet = [
      ...known.slice(0, 18).map((n) => server(n)),
      ...known.slice(18).map((n) =>
        server(n, {
          status: 'sunset_confirmed',
          daysSilent: 31,
          lastSeen: new Date(NOW.getTime() - 31 * DAY),
        }),
      ),
      ...names(5, 'new').map((n) => server(n)),
    ];
    const report = computeDrift(input(fleet, model(known)));
    assert.equal(report.drift_pct, 35);
    assert.equal(report.drift_priority, 'medium');
    assert.deepEqual(
      report.sunset_servers.map((s) => [s.name, s.status]),
      [
        ['s19', 'sunset_confirmed'],
        ['s20', 'sunset_confirmed'],
      ],
    );
    assert.match(
      report.reasons[0]!,
      /Fleet drift is 35\.00%: \(5 new servers \+ 2 sunset servers\) \/ 20 servers/,
    );
    assert.match(report.reasons[0]!, /retrain within 24 hours/);
  });
});

describe('thresholds', () => {
  const cases: Array<[number, string]> = [
    [0, 'none'],
    [9.99, 'none'],
    [10, 'low'],
    [19.99, 'low'],
    [20, 'medium'],
    [35, 'medium'],
    [35.01, 'high'],
    [250, 'high'],
  ];
  for (const [pct, expected] of cases)
    it(`drift ${pct}% is ${expected}`, () => assert.equal(driftPriority(pct, T), expected));

  const rates: Array<[number, string]> = [
    [0, 'acceptable'],
    [4.99, 'acceptable'],
    [5, 'warning'],
    [15, 'warning'],
    [15.01, 'critical'],
  ];
  for (const [pct, expected] of rates)
    it(`unknown rate ${pct}% is ${expected}`, () => assert.equal(unknownRateLevel(pct, T), expected));

  it('uses configured thresholds', () => {
    const custom = { ...T, low_drift_pct: 1, medium_drift_pct: 2, high_drift_above_pct: 3 };
    assert.equal(driftPriority(1, custom), 'low');
    assert.equal(driftPriority(3.01, custom), 'high');
  });

  it('1 change in 10 servers is exactly the 10 % low boundary', () => {
    const report = computeDrift(
      input(
        [...names(9), 'x'].map((n) => server(n)),
        model(names(10)),
      ),
    );
    assert.equal(report.drift_pct, 20); // 1 new (x) + 1 sunset (s10, absent)
    assert.equal(report.drift_priority, 'medium');
    const low = computeDrift(
      input(
        names(10)
          .concat('x')
          .map((n) => server(n)),
        model(names(10)),
      ),
    );
    assert.equal(low.drift_pct, 10);
    assert.equal(low.drift_priority, 'low');
  });
});

describe('unknown-prediction rate and staleness', () => {
  const fleet = names(10).map((n) => server(n));

  it('a critical unknown rate makes the decision high when a retrain can add the unknown servers', () => {
    // s10 reports and is eligible, but the model was trained on s1…s9: drift is only 11 %
    const report = computeDrift(
      input(fleet, model(names(9)), { unknownCounts: { unknown: 16, total: 100, source: 'f' } }),
    );
    assert.equal(report.drift_priority, 'low');
    assert.deepEqual(report.unknown_rate, {
      unknown: 16,
      total: 100,
      rate_pct: 16,
      level: 'critical',
      source: 'f',
    });
    assert.equal(report.priority, 'high');
    assert.match(report.reasons.join(' '), /Unknown-server predictions are 16\.00% \(16 of 100/);
  });

  it('an unknown rate a retrain cannot fix asks for no retrain, and says why', () => {
    // every fleet server is in the model: the unknown predictions come from elsewhere
    const report = computeDrift(
      input(fleet, model(names(10)), { unknownCounts: { unknown: 40, total: 100, source: 'f' } }),
    );
    assert.equal(report.unknown_rate?.level, 'critical');
    assert.equal(report.decision.retrain, false);
    assert.equal(report.priority, 'none');
    assert.match(
      report.reasons.join(' '),
      /already in the model's vocabulary: a retrain would not change them/,
    );
  });

  it('a warning rate gives medium; an acceptable rate alone does not retrain', () => {
    const warning = computeDrift(
      input(fleet, model(names(9)), { unknownCounts: { unknown: 5, total: 100, source: 'f' } }),
    );
    assert.equal(warning.priority, 'medium');
    const fine = computeDrift(
      input(fleet, model(names(10)), { unknownCounts: { unknown: 4, total: 100, source: 'f' } }),
    );
    assert.equal(fine.decision.retrain, false);
    assert.equal(fine.priority, 'none');
    assert.match(fine.reasons.at(-1)!, /No trigger fired/);
  });

  it('zero predictions is a 0 % rate', () => {
    const report = computeDrift(
      input(fleet, model(names(10)), { unknownCounts: { unknown: 0, total: 0, source: 'f' } }),
    );
    assert.equal(report.unknown_rate?.rate_pct, 0);
  });

  it('stale only when older than 30 days and the fleet changed', () => {
    const old = model(names(10), { trainedAt: new Date(NOW.getTime() - 31 * DAY) });
    const unchanged = computeDrift(input(fleet, old));
    assert.equal(unchanged.model_age_days, 31);
    assert.equal(unchanged.stale, false);
    assert.equal(unchanged.decision.retrain, false);
    const changed = computeDrift(input([...fleet, server('new1')], old));
    assert.equal(changed.drift_pct, 10);
    assert.equal(changed.stale, true);
    assert.match(changed.reasons.join(' '), /31\.0 days old, more than the 30-day limit/);
    const exactly30 = computeDrift(
      input([...fleet, server('new1')], model(names(10), { trainedAt: new Date(NOW.getTime() - 30 * DAY) })),
    );
    assert.equal(exactly30.stale, false);
  });

  it('a stale model with drift under 10 % still retrains, at low priority', () => {
    const old = model(names(20), { trainedAt: new Date(NOW.getTime() - 40 * DAY) });
    const report = computeDrift(
      input(
        [...names(20), 'n1'].map((n) => server(n)),
        old,
      ),
    );
    assert.equal(report.drift_pct, 5);
    assert.equal(report.drift_priority, 'none');
    assert.equal(report.stale, true);
    assert.equal(report.priority, 'low');
  });
});

describe('pending, sunset and no-model cases', () => {
  it('pending servers are listed with eligible_at and kept out of drift and the manifest', () => {
    const eligibleAt = new Date('2026-11-24T00:00:00Z');
    const pending = server('fresh', {
      eligible: false,
      eligibleAt,
      historyDays: 3,
      pendingReasons: ['3.0 days of history (needs 7)'],
    });
    const report = computeDrift(input([...names(4).map((n) => server(n)), pending], model(names(4))));
    assert.equal(report.drift_pct, 0);
    assert.deepEqual(
      report.pending_servers.map((p) => [p.name, p.eligible_at, p.reason]),
      [['fresh', eligibleAt.toISOString(), '3.0 days of history (needs 7)']],
    );
    assert.ok(!report.manifest.servers.some((s) => s.name === 'fresh'));
    assert.match(
      report.reasons.join(' '),
      /1 new server is pending.*earliest becomes eligible on 2026-11-24/,
    );
  });

  it('offline and sunset-candidate model servers are watched, not counted', () => {
    const fleet = [
      server('s1', { status: 'offline', daysSilent: 2 }),
      server('s2', { status: 'sunset_candidate', daysSilent: 8 }),
      server('s3'),
    ];
    const report = computeDrift(input(fleet, model(['s1', 's2', 's3'])));
    assert.equal(report.drift_pct, 0);
    assert.deepEqual(
      report.silent_servers.map((s) => s.status),
      ['offline', 'sunset_candidate'],
    );
    assert.deepEqual(report.fleet, {
      total: 3,
      active: 1,
      offline: 1,
      sunset_candidate: 1,
      sunset_confirmed: 0,
      eligible: 3,
      pending: 0,
      rejected: 0,
    });
  });

  it('model servers with no metrics at all are sunset (absent)', () => {
    const report = computeDrift(input([server('s1')], model(['s1', 'gone'])));
    assert.deepEqual(report.sunset_servers, [
      { name: 'gone', profile: null, last_seen: null, days_silent: null, status: 'absent' },
    ]);
    assert.equal(report.drift_pct, 50);
  });

  it('lists rejected server names, bounded, and warns about them', () => {
    const report = computeDrift(
      input([server('a')], model(['a']), {
        rejected: [
          { value: 'x'.repeat(500), problem: 'too long', samples: 7, firstSeen: null, lastSeen: null },
        ],
      }),
    );
    assert.equal(report.rejected_servers[0]!.value!.length, 257);
    assert.equal(report.fleet.rejected, 1);
    assert.match(
      report.warnings.join(' '),
      /1 server name in the metrics failed validation and was left out/,
    );
  });

  it('no deployed model means retrain at high priority', () => {
    const report = computeDrift(
      input([server('a'), server('b')], {
        id: null,
        servers: [],
        trainedAt: null,
        trainedOn: null,
        source: 'registry r (no current.json)',
        deployed: false,
      }),
    );
    assert.equal(report.drift_pct, 0);
    assert.equal(report.decision.retrain, true);
    assert.equal(report.priority, 'high');
    assert.match(report.reasons[0]!, /No model is deployed .*first model on the 2 eligible servers/);
    assert.equal(report.manifest.servers.length, 2);
  });

  it('says whether the manifest would change', () => {
    const fleet = [server('a'), server('b')];
    const same = computeDrift(
      input(fleet, model(['a', 'b']), {
        currentManifest: {
          path: 'fleet/manifest.json',
          manifest: {
            format_version: 1,
            servers: [
              { name: 'a', profile: 'web', first_seen: '2026-10-21' },
              { name: 'b', profile: 'web', first_seen: '2026-10-21' },
            ],
          },
        },
      }),
    );
    assert.equal(same.manifest_change.changed, false);
    const grown = computeDrift(
      input([...fleet, server('c')], model(['a', 'b']), {
        currentManifest: { path: 'm.json', manifest: null },
      }),
    );
    assert.equal(grown.manifest_change.changed, true);
    assert.deepEqual(grown.manifest_change.added, ['a', 'b', 'c']);
  });

  describe('model age: from the end of its training data, as of now', () => {
    const fleet = names(10).map((n) => server(n));
    const changed = [...fleet, server('new1')];
    const onData = (dataEnd: Date, trainedAt = new Date('2026-11-25T00:00:00Z')) =>
      model(names(10), { trainedAt, trainedOn: { end: dataEnd, resolutionSeconds: 900 } });

    it('a model trained today on old data ages from its data, not the wall clock of its training', () => {
      // a replay: trained after now (the "-4810 days old" case) on data that ends 31 days before now
      const report = computeDrift(input(changed, onData(new Date(NOW.getTime() - 31 * DAY))));
      assert.equal(report.model_age_days, 31);
      assert.equal(report.model.age_from, 'data_end');
      assert.equal(report.model.data_end, new Date(NOW.getTime() - 31 * DAY).toISOString());
      assert.equal(report.model.age_note, null);
      assert.equal(report.stale, true);
      assert.match(
        report.reasons.join(' '),
        /31\.0 days old, more than the 30-day limit \(counted from the end of its training data/,
      );
      assert.deepEqual(report.warnings, []);
    });

    it('data that ends after now: no age, no staleness, and the reasons say why', () => {
      const report = computeDrift(input(changed, onData(new Date(NOW.getTime() + 16 * DAY))));
      assert.equal(report.model_age_days, null);
      assert.equal(report.model.age_days, null);
      assert.equal(report.stale, false);
      assert.match(
        report.model.age_note!,
        /trained on data up to 2026-12-06T00:00:00\.000Z, which is after now \(2026-11-20/,
      );
      assert.match(
        report.reasons.join(' '),
        /Model age: the model was trained on data up to .* the 30-day staleness rule is not applied/,
      );
      assert.ok(report.warnings.some((w) => /after now/.test(w)));
      assert.doesNotMatch(JSON.stringify(report), /-\d+(\.\d+)? days/);
    });

    it('now inside the last bucket of the data is age 0, not "after now"', () => {
      const report = computeDrift(input(fleet, onData(new Date(NOW.getTime() + 600_000))));
      assert.equal(report.model_age_days, 0);
      assert.equal(report.model.age_note, null);
    });

    it('a model without a data end (older training_info.json) ages from its creation, and says so', () => {
      const old = model(names(10), { trainedAt: new Date(NOW.getTime() - 31 * DAY), trainedOn: null });
      const report = computeDrift(input(changed, old));
      assert.equal(report.model_age_days, 31);
      assert.equal(report.model.age_from, 'created_at');
      assert.equal(report.stale, true);
      assert.match(
        report.model.age_note!,
        /measured from the model's creation .* does not say when its data ends/,
      );
      assert.match(
        report.reasons.join(' '),
        /counted from its creation, .*: its training_info\.json does not say when its data ends/,
      );
      assert.ok(report.warnings.some((w) => /model age: age measured from the model's creation/.test(w)));
    });

    it('a report file written before data_end, age_from and age_note existed still reads', () => {
      const report = JSON.parse(JSON.stringify(driftReport({ servers: ['a', 'b'] }))) as {
        model: Record<string, unknown>;
      };
      for (const key of ['data_end', 'age_from', 'age_note']) delete report.model[key];
      const read = parseDriftReport(report, 'old.json');
      assert.equal(read.model.data_end, null);
      assert.equal(read.model.age_from, null);
      assert.equal(read.model.age_note, null);
      assert.equal(read.model.age_days, 37);
    });

    it('an old model created after now gets no age either', () => {
      const old = model(names(10), { trainedAt: new Date(NOW.getTime() + DAY), trainedOn: null });
      const report = computeDrift(input(changed, old));
      assert.equal(report.model_age_days, null);
      assert.equal(report.stale, false);
      assert.match(report.model.age_note!, /created at .*, after now/);
    });
  });
});
