import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { revertCommitMessage } from '../../src/gitops/deploy-commit.js';
import {
  formatLiveRecord,
  liveRecordFromStatus,
  liveRecordInMessage,
  parseLiveRecord,
  readLiveRecord,
} from '../../src/gitops/live-record.js';
import { liveStatusOf, startFakeService, type FakeService } from '../helpers/fake-service.js';

const M = 'tft-20261101T000000Z-bbbbbb';
const at = new Date('2026-12-01T10:00:00Z');

test('a record from /status: mean over targets at P50 and P90, naive and the ratio on its points', () => {
  const status = liveStatusOf([
    { model: M, p50: 0.2, p90: 0.1, naiveP50: 0.25, naiveP90: 0.08, points: 480, hours: 12 },
  ]);
  const result = liveRecordFromStatus(status, M, at);
  assert.ok('record' in result);
  const r = result.record;
  assert.deepEqual([r.p50, r.p90, r.naive_p50, r.naive_p90], [0.2, 0.1, 0.25, 0.08]);
  assert.ok(Math.abs(r.ratio_vs_naive_p50! - 0.8) < 1e-12);
  assert.ok(Math.abs(r.ratio_vs_naive_p90! - 1.25) < 1e-12);
  assert.deepEqual(
    [r.scored_points, r.naive_points, r.scored_hours, r.read_at],
    [480, 480, 12, at.toISOString()],
  );
  assert.deepEqual(r.targets, ['cpu_pct', 'mem_pct']);
});

test('no record is said, never invented: unknown model, nothing scored, no live section', () => {
  const status = liveStatusOf([{ model: 'other', p50: 0.2, p90: 0.1, points: 10, hours: 1 }]);
  assert.deepEqual(liveRecordFromStatus(status, M, at), {
    none: `the service has no live accuracy for ${M}`,
  });
  assert.deepEqual(
    liveRecordFromStatus(liveStatusOf([{ model: M, p50: 0, p90: 0, points: 0, hours: 0 }]), M, at),
    { none: `the service has scored no point of ${M} yet` },
  );
  assert.match((liveRecordFromStatus({ model_id: M }, M, at) as { none: string }).none, /no live_accuracy/);
});

test('the trailer value round-trips, with missing figures as na and a none with its reason', () => {
  const status = liveStatusOf([{ model: M, p50: 0.2, p90: 0.1, points: 480, hours: 12.5 }]);
  const result = liveRecordFromStatus(status, M, at);
  const text = formatLiveRecord(M, result);
  assert.match(
    text,
    new RegExp(`^${M} p50=0\\.2000 p90=0\\.1000 naive_p50=na .* points=480 naive_points=0 hours=12\\.5 `),
  );
  assert.deepEqual(parseLiveRecord(text), { model: M, result });
  const none = formatLiveRecord(M, { none: 'GET /status answered 503 (busy)' });
  assert.deepEqual(parseLiveRecord(none), { model: M, result: { none: 'GET /status answered 503  busy' } });
  assert.equal(parseLiveRecord(`${M} p50=0.2`), undefined, 'a partial record is not a record');
  assert.equal(parseLiveRecord(`${M} p50=x p90=1`), undefined);
});

test('a revert message carries the record of the model it takes out, found only for that model', () => {
  const message = revertCommitMessage('deploy: x', 'a'.repeat(40), {
    from: M,
    reason: 'slow',
    requestedBy: 'dana',
    live: { none: 'no service URL given' },
  });
  assert.deepEqual(liveRecordInMessage(message, M), { none: 'no service URL given' });
  assert.equal(liveRecordInMessage(message, 'tft-20261001T000000Z-aaaaaa'), undefined);
});

describe('reading /status over HTTP', () => {
  let service: FakeService;
  before(async () => {
    service = await startFakeService();
  });
  after(() => service.close());

  test('with a token; an error status or no URL is a none with the reason', async () => {
    service.set({ modelId: M, live: [{ model: M, p50: 0.3, p90: 0.2, points: 100, hours: 6 }] });
    const result = await readLiveRecord(M, { serviceUrl: `${service.url}/`, token: 's3cret', now: () => at });
    assert.ok('record' in result && result.record.p50 === 0.3);
    assert.equal(service.authorizations.at(-1), 'Bearer s3cret');
    service.set({ modelId: M, live: [], status: 500 });
    assert.deepEqual(await readLiveRecord(M, { serviceUrl: service.url }), {
      none: 'GET /status answered 500',
    });
    assert.deepEqual(await readLiveRecord(M, {}), { none: 'no service URL given' });
    const unreachable = await readLiveRecord(M, { serviceUrl: 'http://127.0.0.1:1' });
    assert.ok('none' in unreachable && unreachable.none.startsWith('GET /status failed'));
  });
});
