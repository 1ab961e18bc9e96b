import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventLog, parseEvents } from '../../src/core/events-log.js';

describe('events log', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-events-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON object per line, creating the directory', async () => {
    const path = join(dir, 'logs', 'retraining_events.json');
    const log = new EventLog(path, () => new Date('2026-11-20T00:00:00Z'));
    await log.append({ event: 'drift_check', data: { drift_pct: 12.5 } });
    await log.append(
      { event: 'drift_check', data: { drift_pct: 40 } },
      { event: 'retrain_triggered', data: { priority: 'high' } },
    );
    const text = await readFile(path, 'utf8');
    assert.equal(text.split('\n').length, 4);
    const events = parseEvents(text, path);
    assert.deepEqual(
      events.map((e) => e.event),
      ['drift_check', 'drift_check', 'retrain_triggered'],
    );
    assert.deepEqual(events[0], {
      timestamp: '2026-11-20T00:00:00.000Z',
      event: 'drift_check',
      data: { drift_pct: 12.5 },
    });
  });

  it('a null path logs nothing', async () => {
    await new EventLog(null).append({ event: 'drift_check', data: {} });
  });

  it('bad lines name their line number', () => {
    assert.throws(
      () => parseEvents('{"timestamp":"t","event":"e","data":{}}\nnope\n', 'log'),
      /log:2: bad event line/,
    );
  });
});
