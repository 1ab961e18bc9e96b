import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  driftPrLabels,
  driftPrTitle,
  GITHUB_BODY_LIMIT,
  parseDriftPrBody,
  renderDriftPrBody,
  type DriftPrBody,
} from '../../src/gitops/drift-pr-body.js';
import { escapeMarkdown, unescapeMarkdown } from '../../src/gitops/markdown.js';

function body(overrides: Partial<DriftPrBody> = {}): DriftPrBody {
  return {
    priority: 'medium',
    driftPct: 35,
    fleetSize: 23,
    unknownRatePct: 6.25,
    modelId: 'tft-20261020T040000Z-ffeedd',
    modelAgeDays: 37,
    modelAge: '37.0 days old (its data ends 2026-10-20)',
    stale: true,
    thresholds: { low_drift_pct: 10, medium_drift_pct: 20, high_drift_above_pct: 35 },
    reasons: ['fleet drift 35.0% is medium priority (20-35%)'],
    manifestPath: 'fleet/manifest.json',
    manifestSha256: 'ab'.repeat(32),
    newServers: { names: ['db_main-1', 'web-21'], total: 2 },
    sunsetServers: { names: ['web-07'], total: 1 },
    pendingServers: { names: [], total: 0 },
    ...overrides,
  };
}

test('renders the expected Markdown', () => {
  const text = renderDriftPrBody(body());
  const visible = text.split('\n').slice(1).join('\n'); // first line: hidden metadata
  assert.equal(
    visible,
    [
      '## Fleet drift: retraining proposed',
      '',
      '**Priority: medium.** Fleet drift is **35.0 %** (2 new, 1 sunset, 0 pending) against model tft\\-20261020T040000Z\\-ffeedd.',
      '',
      'Why:',
      '',
      '- fleet drift 35\\.0% is medium priority \\(20\\-35%\\)',
      '',
      '| Signal | Value |',
      '|---|---|',
      '| Fleet drift | 35.0 % |',
      '| Unknown predictions | 6.3 % |',
      '| Model age | 37\\.0 days old \\(its data ends 2026\\-10\\-20\\) (stale) |',
      '| Fleet size | 23 servers |',
      '| Threshold low\\_drift\\_pct | 10 |',
      '| Threshold medium\\_drift\\_pct | 20 |',
      '| Threshold high\\_drift\\_above\\_pct | 35 |',
      '',
      '### New servers (2)',
      '',
      '_reporting metrics but unknown to the deployed model_',
      '',
      '| Server |',
      '|---|',
      '| db\\_main\\-1 |',
      '| web\\-21 |',
      '',
      '### Sunset servers (1)',
      '',
      '_known to the model but silent past the sunset threshold_',
      '',
      '| Server |',
      '|---|',
      '| web\\-07 |',
      '',
      '### Pending servers (0)',
      '',
      'None.',
      '',
      '---',
      '',
      'Merging this pull request updates `fleet/manifest.json` (sha256 `abababababab`) and starts the retrain workflow. ' +
        'This branch is managed by Fleetcast: later drift checks update it in place, or close the pull request when ' +
        'the drift is gone. Commits you add are kept; Fleetcast then comments instead of updating.',
      '',
    ].join('\n'),
  );
});

test('render → parse round trip', () => {
  const original = body();
  assert.deepEqual(parseDriftPrBody(renderDriftPrBody(original)), original);
  const empty = body({
    newServers: { names: [], total: 0 },
    sunsetServers: { names: [], total: 0 },
    modelId: null,
    unknownRatePct: null,
    modelAgeDays: null,
    modelAge: 'n/a',
    reasons: [],
  });
  assert.deepEqual(parseDriftPrBody(renderDriftPrBody(empty)), empty);
  assert.equal(parseDriftPrBody('a body someone wrote'), undefined);
});

test('untrusted text cannot break out of a table, HTML comment or mention anyone', () => {
  const hostile = 'x|y <img src=x> @admin --> `code` [link](http://e) *b* _i_ #1 \\';
  const escaped = escapeMarkdown(hostile);
  assert.ok(!/(^|[^\\])\|/.test(escaped), 'every | escaped');
  assert.ok(!/(^|[^\\])</.test(escaped));
  assert.ok(!/(^|[^\\])@/.test(escaped));
  assert.equal(unescapeMarkdown(escaped), hostile);
  const b = body({ reasons: [hostile, 'second\nline'] });
  const text = renderDriftPrBody(b);
  const metadata = text.split('\n')[0]!;
  assert.equal(metadata.indexOf('-->'), metadata.length - 3, 'the metadata comment ends only at its end');
  assert.equal(text.match(/-->/g)?.length, 1);
  assert.deepEqual(parseDriftPrBody(text)?.reasons, [hostile, 'second\nline']);
});

test('a 10,000-server fleet stays under 65,536 characters and says how many rows it left out', () => {
  const names = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  const big = body({
    fleetSize: 10_000,
    newServers: { names: names('web_new', 6000), total: 6000 },
    sunsetServers: { names: names('db_old', 3000), total: 3000 },
    pendingServers: { names: names('cache', 1000), total: 1000 },
  });
  const text = renderDriftPrBody(big);
  assert.ok(text.length <= GITHUB_BODY_LIMIT, `${text.length} characters`);
  assert.ok(text.length > GITHUB_BODY_LIMIT - 2000, 'uses the room it has');
  assert.match(text, /### New servers \(6,000\)/);
  assert.match(text, /\| … and [\d,]+ more \|/);
  const parsed = parseDriftPrBody(text)!;
  assert.equal(parsed.newServers.total, 6000);
  assert.ok(parsed.newServers.names.length > 100 && parsed.newServers.names.length < 6000);
  assert.deepEqual(parsed.newServers.names, big.newServers.names.slice(0, parsed.newServers.names.length));
  assert.deepEqual(
    parsed.pendingServers.names,
    big.pendingServers.names.slice(0, parsed.pendingServers.names.length),
  );
});

test('title and labels carry the priority', () => {
  assert.equal(
    driftPrTitle(body({ priority: 'high', driftPct: 40 })),
    'fleetcast: retrain for fleet drift 40.0% [high priority]',
  );
  assert.deepEqual(driftPrLabels('low'), ['fleetcast', 'fleetcast:retrain', 'priority:low']);
});

test('a body written before modelAge existed still parses, its age from modelAgeDays', () => {
  const old = renderDriftPrBody(body()).replace(/"modelAge":"[^"]*",/, '');
  assert.doesNotMatch(old.split('\n')[0]!, /"modelAge"/);
  assert.equal(parseDriftPrBody(old)?.modelAge, '37.0 days');
});

test('a model trained on data after now says so instead of a negative age', () => {
  const text = renderDriftPrBody(
    body({
      modelAgeDays: null,
      modelAge:
        'trained on data up to 2013-10-15T00:00:00.000Z, which is after now (2013-09-29T00:00:00.000Z)',
      stale: false,
    }),
  );
  const row = text.split('\n').find((line) => line.startsWith('| Model age |'))!;
  assert.match(unescapeMarkdown(row), /trained on data up to 2013-10-15T00:00:00\.000Z, which is after now/);
  assert.doesNotMatch(unescapeMarkdown(text), /-\d+(\.\d+)? days/);
});
