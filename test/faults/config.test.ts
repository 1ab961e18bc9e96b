import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_RETRAIN_CONFIG,
  loadRetrainConfig,
  parseRetrainConfig,
  RENAMED_KEYS,
} from '../../src/config/retrain-config.js';
import { InputError } from '../../src/core/errors.js';

/**
 * Fault suite, group "config": a hostile or mistaken retrain_config.json is refused with an
 * InputError that names the file and the field; nothing is half-applied (docs/reliability.md).
 */
interface Row {
  name: string;
  fault: unknown;
  outcome: RegExp;
}

const NUMERIC_KEYS = Object.entries(DEFAULT_RETRAIN_CONFIG)
  .filter(([, v]) => typeof v === 'number')
  .map(([k]) => k);

const rows: Row[] = [
  { name: 'an unknown key', fault: { warn_threshold: 1 }, outcome: /c\.json: unknown key 'warn_threshold'/ },
  { name: 'several unknown keys', fault: { a: 1, b: 2 }, outcome: /c\.json: unknown keys 'a', 'b'/ },
  {
    name: 'a prototype key',
    fault: JSON.parse('{"__proto__": {"x": 1}}'),
    outcome: /c\.json: unknown key '__proto__'/,
  },
  { name: 'a root that is an array', fault: [1, 2], outcome: /c\.json: \(root\)/ },
  { name: 'a root that is a string', fault: 'low_drift_pct', outcome: /c\.json: \(root\)/ },
  { name: 'a root that is null', fault: null, outcome: /c\.json: \(root\)/ },
  ...Object.entries(RENAMED_KEYS).map(([old, now]) => ({
    name: `the renamed key ${old}`,
    fault: { [old]: 1 },
    outcome: new RegExp(`c\\.json: '${old}' was renamed to '${now}'`),
  })),
  ...NUMERIC_KEYS.map((key) => ({
    name: `${key} as a string`,
    fault: { [key]: '10' },
    outcome: new RegExp(`c\\.json: ${key}: .*number`),
  })),
  ...NUMERIC_KEYS.map((key) => ({
    name: `${key} negative`,
    fault: { [key]: -1 },
    outcome: new RegExp(`c\\.json: ${key}`),
  })),
  {
    name: 'low_drift_pct above medium',
    fault: { low_drift_pct: 25 },
    outcome: /low_drift_pct: must be ≤ medium_drift_pct/,
  },
  {
    name: 'medium above high',
    fault: { medium_drift_pct: 40 },
    outcome: /medium_drift_pct: must be ≤ high_drift_above_pct/,
  },
  {
    name: 'unknown warning above critical',
    fault: { unknown_warning_pct: 20 },
    outcome: /unknown_warning_pct: must be ≤ unknown_critical_above_pct/,
  },
  {
    name: 'sunset confirmed before candidate',
    fault: { sunset_confirmed_days: 5 },
    outcome: /sunset_confirmed_days \(5\) must exceed sunset_candidate_days/,
  },
  {
    name: 'a webhook URL in the file',
    fault: { notification_webhook: 'https://hooks.example/x' },
    outcome: /notification_webhook: a webhook URL is a secret/,
  },
  {
    name: 'a webhook env name with spaces',
    fault: { notification_webhook_env: 'my var' },
    outcome: /notification_webhook_env: must be an environment variable name/,
  },
  {
    name: 'events_log escaping with ..',
    fault: { events_log: '../../etc/passwd' },
    outcome: /c\.json: events_log: must stay inside the repository/,
  },
  {
    name: 'events_log escaping through a subfolder',
    fault: { events_log: 'logs/../../x.json' },
    outcome: /c\.json: events_log: must stay inside the repository/,
  },
  {
    name: 'events_log absolute',
    fault: { events_log: '/tmp/events.json' },
    outcome: /c\.json: events_log: must be relative to the repository root/,
  },
  { name: 'events_log as a number', fault: { events_log: 7 }, outcome: /c\.json: events_log/ },
];

describe('faults: config', () => {
  for (const row of rows)
    it(`config | ${row.name} → InputError naming the field`, () => {
      assert.throws(
        () => parseRetrainConfig(row.fault, 'c.json'),
        (error: unknown) => {
          assert.ok(error instanceof InputError, String(error));
          assert.match(error.message, row.outcome);
          return true;
        },
      );
    });

  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-faults-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const files: Array<[string, string, RegExp]> = [
    ['a file that is not JSON', '{"low_drift_pct": 10,', /bad\.json/],
    ['an empty file', '', /bad\.json/],
    [
      'a file escaping the repository on load',
      '{"events_log": "../../../escaped.json"}',
      /bad\.json: events_log: must stay inside the repository/,
    ],
  ];
  for (const [name, text, outcome] of files)
    it(`config | ${name} → refused on load, naming the file, file left as it was`, async () => {
      const file = join(dir, 'bad.json');
      await writeFile(file, text);
      await assert.rejects(loadRetrainConfig(file, dir), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, outcome);
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), text);
    });
});
