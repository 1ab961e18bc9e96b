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
} from '../../src/config/retrain-config.js';
import { InputError } from '../../src/core/errors.js';

describe('retrain policy config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("defaults match the seed's retrain_config.json", () => {
    const c = DEFAULT_RETRAIN_CONFIG;
    assert.equal(c.warning_drift_threshold, 20);
    assert.equal(c.critical_drift_threshold, 35);
    assert.equal(c.sunset_days_threshold, 30);
    assert.equal(c.minimum_history_days, 7);
    assert.equal(c.retraining_epochs, 20);
    assert.equal(c.validation_required, true);
    assert.equal(c.hot_swap_enabled, true);
    assert.equal(c.low_drift_threshold, 10);
    assert.equal(c.offline_hours, 24);
    assert.equal(c.sunset_candidate_days, 7);
    assert.equal(c.minimum_samples, 1000);
    assert.equal(c.unknown_rate_warning_pct, 5);
    assert.equal(c.unknown_rate_critical_pct, 15);
    assert.equal(c.max_model_age_days, 30);
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
    ['a wrong type', { warning_drift_threshold: '20' }, /f\.json: warning_drift_threshold: .*number/],
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
      { warning_drift_threshold: 40 },
      /warning_drift_threshold: must be ≤ critical_drift_threshold \(35\)/,
    ],
    [
      'low above medium',
      { low_drift_threshold: 25 },
      /low_drift_threshold: must be ≤ warning_drift_threshold/,
    ],
    [
      'unknown-rate thresholds out of order',
      { unknown_rate_warning_pct: 20 },
      /unknown_rate_warning_pct: must be ≤/,
    ],
    [
      'sunset before candidate',
      { sunset_days_threshold: 5 },
      /sunset_days_threshold \(5\) must exceed sunset_candidate_days/,
    ],
    ['not an object', [1], /f\.json: \(root\)/],
  ];
  for (const [label, value, message] of bad)
    it(`rejects ${label}, naming the field`, () => {
      assert.throws(
        () => parseRetrainConfig(value, 'f.json'),
        (error: unknown) => error instanceof InputError && message.test(error.message),
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
    await writeFile(path, JSON.stringify({ critical_drift_threshold: 50 }));
    const loaded = await loadRetrainConfig(path);
    assert.equal(loaded.config.critical_drift_threshold, 50);
    assert.equal(loaded.config.warning_drift_threshold, 20);
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
