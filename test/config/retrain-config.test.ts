import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_RETRAIN_CONFIG,
  loadRetrainConfig,
  notificationWebhook,
  parseRetrainConfig,
  REMOVED_KEYS,
  RENAMED_KEYS,
} from '../../src/config/retrain-config.js';
import { thresholdsOf } from '../../src/drift/levels.js';
import { InputError } from '../../src/core/errors.js';

describe('retrain policy config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has the documented defaults (docs/drift.md)', () => {
    const c = DEFAULT_RETRAIN_CONFIG;
    assert.equal(c.low_drift_pct, 10);
    assert.equal(c.medium_drift_pct, 20);
    assert.equal(c.high_drift_above_pct, 35);
    assert.equal(c.offline_hours, 24);
    assert.equal(c.sunset_candidate_days, 7);
    assert.equal(c.sunset_confirmed_days, 30);
    assert.equal(c.minimum_history_days, 7);
    assert.equal(c.minimum_samples, 1000);
    assert.equal(c.unknown_warning_pct, 5);
    assert.equal(c.unknown_critical_above_pct, 15);
    assert.equal(c.max_model_age_days, 30);
  });

  it('names each threshold as the drift report and the drift pull request show it', () => {
    const config = parseRetrainConfig(
      { low_drift_pct: 1, medium_drift_pct: 2, high_drift_above_pct: 3, sunset_confirmed_days: 40 },
      'f.json',
    );
    const thresholds = thresholdsOf(config);
    for (const [name, value] of Object.entries(thresholds))
      assert.equal(config[name as keyof typeof config], value, `config key ${name}`);
  });

  it('the shipped config/retrain_config.json is valid and equals the defaults', async () => {
    const text = await readFile(new URL('../../config/retrain_config.json', import.meta.url), 'utf8');
    assert.deepEqual(
      parseRetrainConfig(JSON.parse(text), 'config/retrain_config.json'),
      DEFAULT_RETRAIN_CONFIG,
    );
    assert.ok(!text.includes('http'), 'the committed config must not hold a webhook URL');
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['a wrong type', { medium_drift_pct: '20' }, /f\.json: medium_drift_pct: .*number/],
    ['a negative value', { minimum_samples: -1 }, /f\.json: minimum_samples: /],
    ['an unknown key', { warn_drift_threshold: 20 }, /f\.json: unknown key 'warn_drift_threshold'/],
    [
      'a committed webhook URL',
      { notification_webhook: 'https://hooks.slack.com/x' },
      /notification_webhook: a webhook URL is a secret/,
    ],
    [
      'a bad env var name',
      { notification_webhook_env: 'lower case' },
      /notification_webhook_env: must be an environment variable name/,
    ],
    [
      'thresholds out of order',
      { medium_drift_pct: 40 },
      /medium_drift_pct: must be ≤ high_drift_above_pct \(35\)/,
    ],
    ['low above medium', { low_drift_pct: 25 }, /low_drift_pct: must be ≤ medium_drift_pct/],
    [
      'unknown-rate thresholds out of order',
      { unknown_warning_pct: 20 },
      /unknown_warning_pct: must be ≤ unknown_critical_above_pct/,
    ],
    [
      'sunset before candidate',
      { sunset_confirmed_days: 5 },
      /sunset_confirmed_days \(5\) must exceed sunset_candidate_days/,
    ],
    ['not an object', [1], /f\.json: \(root\)/],
    [
      'an events_log outside the repository',
      { events_log: '../../home/user/.bashrc' },
      /f\.json: events_log: must stay inside the repository.*"\.\.\/\.\.\/home\/user\/\.bashrc"/,
    ],
    [
      'an events_log that climbs out through a subdirectory',
      { events_log: 'logs/../../outside.json' },
      /f\.json: events_log: must stay inside the repository/,
    ],
    [
      'an absolute events_log',
      { events_log: '/var/tmp/events.json' },
      /f\.json: events_log: must be relative to the repository root/,
    ],
    ['the repository root itself as events_log', { events_log: 'logs/..' }, /f\.json: events_log: /],
    ...Object.entries(RENAMED_KEYS).map(([old, now]): [string, unknown, RegExp] => [
      `the renamed key ${old}`,
      { [old]: 1 },
      new RegExp(`f\\.json: '${old}' was renamed to '${now}'`),
    ]),
    ...Object.keys(REMOVED_KEYS).map((key): [string, unknown, RegExp] => [
      `the removed key ${key}`,
      { [key]: true },
      new RegExp(`f\\.json: '${key}' is no longer supported: `),
    ]),
  ];
  for (const [label, value, message] of bad)
    it(`rejects ${label}, naming the field`, () => {
      assert.throws(
        () => parseRetrainConfig(value, 'f.json'),
        (error: unknown) => error instanceof InputError && message.test(error.message),
      );
    });

  it('accepts an events_log inside the repository', () => {
    for (const path of ['logs/events.json', './logs/a/../events.json', 'events.json'])
      assert.equal(parseRetrainConfig({ events_log: path }, 'f.json').events_log, path);
  });

  it('refuses a config file whose events_log leaves the repository before anything is written', async () => {
    const file = join(dir, 'escape.json');
    await writeFile(file, JSON.stringify({ events_log: '../../escaped-events.json' }));
    await assert.rejects(
      loadRetrainConfig(file, dir),
      /escape\.json: events_log: must stay inside the repository/,
    );
  });

  it('says which keys were renamed, which were removed and which are unknown, each on its line', () => {
    assert.throws(
      () =>
        parseRetrainConfig(
          { warning_drift_threshold: 20, hot_swap_enabled: true, warn_pct: 1, typo: 2 },
          'f.json',
        ),
      (error: unknown) =>
        error instanceof InputError &&
        error.message ===
          [
            "f.json: 'warning_drift_threshold' was renamed to 'medium_drift_pct'",
            "f.json: 'hot_swap_enabled' is no longer supported: the service always hot-swaps when current.json changes",
            "f.json: unknown keys 'warn_pct', 'typo' (not a retrain policy setting)",
          ].join('\n'),
    );
  });

  it('reports every bad field at once', () => {
    assert.throws(
      () => parseRetrainConfig({ minimum_samples: 0, offline_hours: 'x' }, 'f.json'),
      (error: unknown) =>
        error instanceof Error &&
        /minimum_samples/.test(error.message) &&
        /offline_hours/.test(error.message),
    );
  });

  it('loads a file, falls back to config/retrain_config.json in cwd, then to defaults', async () => {
    const path = join(dir, 'custom.json');
    await writeFile(path, JSON.stringify({ high_drift_above_pct: 50 }));
    const loaded = await loadRetrainConfig(path);
    assert.equal(loaded.config.high_drift_above_pct, 50);
    assert.equal(loaded.config.medium_drift_pct, 20);
    assert.equal(loaded.source, path);
    assert.equal((await loadRetrainConfig(undefined, dir)).source, 'defaults');
    await assert.rejects(
      loadRetrainConfig(join(dir, 'missing.json')),
      /missing\.json: cannot read config \(ENOENT\)/,
    );
    await writeFile(path, '{ nope');
    await assert.rejects(loadRetrainConfig(path), /custom\.json: not valid JSON/);
  });

  it('reads the webhook from the named environment variable only', () => {
    const config = parseRetrainConfig({ notification_webhook_env: 'MY_HOOK' }, 'f');
    assert.equal(
      notificationWebhook(config, { MY_HOOK: 'https://example.invalid/x' }),
      'https://example.invalid/x',
    );
    assert.equal(notificationWebhook(config, {}), undefined);
    assert.equal(
      notificationWebhook(DEFAULT_RETRAIN_CONFIG, { FLEETCAST_NOTIFICATION_WEBHOOK: ' ' }),
      undefined,
    );
  });
});
