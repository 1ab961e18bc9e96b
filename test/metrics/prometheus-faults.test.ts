import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { withDuckDb } from '../../src/metrics/duckdb.js';
import { readState } from '../../src/metrics/prometheus/cache.js';
import { parseMapping } from '../../src/metrics/prometheus/mapping.js';
import { openPrometheusSource, type PrometheusSource } from '../../src/metrics/prometheus/source.js';
import { freePort } from '../helpers/prometheus-fixture.js';

/**
 * Failure modes of the Prometheus source, against a local fake of /api/v1/query_range (the happy
 * path runs against a real Prometheus in prometheus.test.ts): down, slow, erroring, partial or
 * garbage answers all end in an InputError naming the URL and the query, and the cache on disk is
 * left exactly as it was.
 */

const STEP = 300;
const NOW = Date.parse('2026-11-20T00:00:00Z') / 1000;
const MAPPING = `
step: 5m
backfill: 1d
timeout: 300ms
retries: 2
chunk_points: 100
concurrency: 2
profile: { label: role }
columns:
  cpu_pct: cpu_query
  mem_pct: mem_query
`;

type Handler = (params: URLSearchParams, res: ServerResponse) => void;

function matrix(params: URLSearchParams): unknown {
  const start = Number(params.get('start'));
  const end = Number(params.get('end'));
  const step = Number(params.get('step'));
  const values: Array<[number, string]> = [];
  for (let t = start; t <= end; t += step) values.push([t, String((t / step) % 100)]);
  return {
    status: 'success',
    data: {
      resultType: 'matrix',
      result: ['a:9100', 'b:9100'].map((instance) => ({ metric: { instance, role: 'web' }, values })),
    },
  };
}

const good: Handler = (params, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(matrix(params)));
};

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  return out;
}

describe('Prometheus source failure modes', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let handler: Handler = good;
  let requests: URLSearchParams[] = [];
  let mapping: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-prom-faults-'));
    mapping = join(dir, 'mapping.yaml');
    await writeFile(mapping, MAPPING);
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        requests.push(params);
        handler(params, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    handler = good;
    requests = [];
  });

  const open = (cache: string, now: number, base = url): PrometheusSource =>
    openPrometheusSource(`prometheus+${base}#mapping=${mapping}`, {
      cacheRoot: join(dir, cache),
      now: () => new Date(now * 1000),
      backoffMs: 5,
    });

  const sync = (source: PrometheusSource): Promise<void> =>
    withDuckDb(async (conn) => {
      await source.prepare(conn);
      await conn.run(`SELECT count(*) FROM ${source.relation()}`);
    });

  /** A cache synced up to NOW − 1 h, then a later sync that meets `failure`: nothing changes. */
  async function expectUntouched(cache: string, failure: Handler, message: RegExp): Promise<InputError> {
    handler = good;
    await sync(open(cache, NOW - 3600));
    const source = open(cache, NOW);
    const before = await snapshot(source.cacheDir);
    handler = failure;
    requests = [];
    const error = await sync(source).then(
      () => assert.fail('the sync should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, message);
    assert.match(error.message, new RegExp(`Prometheus ${url}/api/v1/query_range query "(cpu|mem)_query"`));
    assert.deepEqual(await snapshot(source.cacheDir), before, 'the cache directory is unchanged');
    return error;
  }

  it('caches a good answer, in chunks of at most chunk_points, two columns each', async () => {
    const source = open('good', NOW);
    await sync(source);
    // 1 day at 5 m = 289 points → 3 chunks of ≤ 100 points × 2 columns
    assert.equal(source.lastSync!.requests.length, 6);
    for (const params of requests)
      assert.ok((Number(params.get('end')) - Number(params.get('start'))) / STEP + 1 <= 100);
    assert.equal(source.lastSync!.rows, 289 * 2);
    assert.equal(source.lastSync!.samples, 289 * 2 * 2);
  });

  it('Prometheus down (closed port): a clear InputError naming the URL and query, no cache change', async () => {
    const port = await freePort();
    const source = open('down', NOW, `http://127.0.0.1:${port}`);
    const error = await sync(source).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InputError);
    assert.match(error.message, new RegExp(`Prometheus http://127.0.0.1:${port}/api/v1/query_range query`));
    assert.match(error.message, /failed after 3 attempts: cannot connect: ECONNREFUSED/);
    assert.equal((await readdir(source.cacheDir).catch(() => [])).length, 0, 'no cache for the other URL');
  });

  it('day files older than the retention leave the cache on the next sync', async () => {
    const retained = join(dir, 'retention.yaml');
    await writeFile(retained, MAPPING.replace('backfill: 1d', 'backfill: 1d\nretention: 2d'));
    const openRetained = (now: number): PrometheusSource =>
      openPrometheusSource(`prometheus+${url}#mapping=${retained}`, {
        cacheRoot: join(dir, 'retention'),
        now: () => new Date(now * 1000),
        backoffMs: 5,
      });
    const first = openRetained(NOW);
    await sync(first);
    assert.deepEqual(Object.keys((await readState(first.cacheDir))!.files).sort(), [
      '2026-11-19',
      '2026-11-20',
    ]);
    const later = openRetained(NOW + 3 * 86_400);
    await sync(later);
    const state = (await readState(later.cacheDir))!;
    assert.deepEqual(Object.keys(state.files).sort(), ['2026-11-21', '2026-11-22', '2026-11-23']);
    assert.equal(later.lastSync!.daysDropped, 2);
    assert.equal(state.syncs.at(-1)!.days_dropped, 2);
  });

  it('a retention shorter than the backfill is refused, naming the file and both keys', () => {
    assert.throws(
      () => parseMapping(MAPPING.replace('backfill: 1d', 'backfill: 3d\nretention: 2d'), 'm.yaml'),
      /m\.yaml: retention \(2d\) is shorter than backfill \(3d\)/,
    );
  });

  it('a host that does not resolve fails at once, not retried, and names the URL', async () => {
    const base = 'http://fleetcast-no-such-host.invalid:9090';
    const attempts: number[] = [];
    const source = openPrometheusSource(`prometheus+${base}#mapping=${mapping}`, {
      cacheRoot: join(dir, 'unresolved'),
      now: () => new Date(NOW * 1000),
      backoffMs: 5,
      onAttempt: (_request, attempt) => attempts.push(attempt),
    });
    const error = await sync(source).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, /fleetcast-no-such-host\.invalid:9090\/api\/v1\/query_range/);
    assert.match(error.message, /cannot connect: ENOTFOUND \(not retried: check the URL\)/);
    assert.ok(!attempts.includes(1), `no second attempt: ${attempts.join(',')}`);
  });

  it('slow answers: retried, then a timeout error; the cache is untouched', async () => {
    const error = await expectUntouched(
      'slow',
      (params, res) => void setTimeout(() => good(params, res), 1500),
      /failed after 3 attempts: no answer within 300 ms/,
    );
    assert.ok(error);
    assert.ok(requests.length >= 3, `${requests.length} requests`);
  });

  it('a 5xx is retried and the retry succeeds', async () => {
    let failures = 0;
    handler = (params, res) => {
      if (failures++ < 1) {
        res.writeHead(503);
        res.end('unavailable');
      } else good(params, res);
    };
    const source = open('retry', NOW);
    await sync(source);
    assert.equal(source.lastSync!.rows, 289 * 2);
  });

  it('an API error (bad_data) is not retried and names the error', async () => {
    await expectUntouched(
      'bad-data',
      (_params, res) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 4' }));
      },
      /HTTP 400: Prometheus returned an error: bad_data: parse error at char 4/,
    );
  });

  it('an answer with warnings is partial data: refused', async () => {
    await expectUntouched(
      'warnings',
      (params, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...(matrix(params) as object), warnings: ['store unavailable'] }));
      },
      /partial data: Prometheus answered with warnings \(store unavailable\)/,
    );
  });

  it('garbage: a body that is not JSON, a wrong resultType, a malformed series', async () => {
    await expectUntouched(
      'garbage',
      (_params, res) => {
        res.writeHead(200);
        res.end('{"status":"success","data":{"resultType":"matrix","result":[{"metric":');
      },
      /the answer is not JSON/,
    );
    await expectUntouched(
      'vector',
      (_params, res) => {
        res.writeHead(200);
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      },
      /expected resultType "matrix", got "vector"/,
    );
    await expectUntouched(
      'malformed',
      (_params, res) => {
        res.writeHead(200);
        res.end(
          JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: 1 }] } }),
        );
      },
      /malformed series/,
    );
  });

  it('one chunk failing after retries while the others succeed leaves the cache untouched', async () => {
    await expectUntouched(
      'one-chunk',
      (params, res) => {
        if (params.get('query') === 'mem_query') {
          res.writeHead(502);
          res.end('bad gateway');
        } else good(params, res);
      },
      /query "mem_query".*failed after 3 attempts: HTTP 502/,
    );
  });

  it('a first sync that fails leaves no cache files behind', async () => {
    handler = (_params, res) => {
      res.writeHead(500);
      res.end();
    };
    const source = open('first-fails', NOW);
    await assert.rejects(sync(source), InputError);
    const left = await readdir(source.cacheDir);
    assert.deepEqual(
      left.filter((f) => f !== 'sync.lock'),
      [],
    );
  });
});
