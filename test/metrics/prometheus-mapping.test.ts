import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { cacheKey, parseMapping, serverNameOf } from '../../src/metrics/prometheus/mapping.js';
import { openPrometheusSource } from '../../src/metrics/prometheus/source.js';

const SHIPPED = new URL('../../deploy/prometheus/node-exporter-mapping.yaml', import.meta.url);

describe('Prometheus mapping', () => {
  let dir: string;
  let mapping: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-prom-mapping-'));
    mapping = join(dir, 'm.yaml');
    await writeFile(mapping, 'columns:\n  cpu_pct: up\n');
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the shipped node_exporter mapping is valid and maps five contract columns', async () => {
    const m = parseMapping(await readFile(SHIPPED, 'utf8'), 'shipped');
    assert.deepEqual(
      m.columns.map((c) => c.name),
      ['cpu_pct', 'mem_pct', 'disk_io_mbps', 'net_in_mbps', 'net_out_mbps'],
    );
    assert.equal(m.stepMs, 300_000);
    assert.equal(m.backfillMs, 35 * 86_400_000);
    assert.equal(m.serverLabel, 'instance');
    assert.equal(m.profileLabel, 'role');
  });

  it('rejects unknown keys, naming them, and columns outside the contract', () => {
    assert.throws(
      () => parseMapping('columns: { cpu_pct: up }\nstpe: 5m\n', 'm.yaml'),
      (e: unknown) => e instanceof InputError && /m\.yaml: \(root\): .*"stpe"/.test(e.message),
    );
    assert.throws(
      () => parseMapping('columns: { cpu_pct: up }\nserver_name: { lable: x }\n', 'm.yaml'),
      (e: unknown) => e instanceof InputError && /server_name: .*"lable"/.test(e.message),
    );
    assert.throws(
      () => parseMapping('columns: { cpu: up }\n', 'm.yaml'),
      /columns: "cpu" not in the data contract/,
    );
    assert.throws(() => parseMapping('columns: {}\n', 'm.yaml'), /map at least one column/);
    assert.throws(
      () => parseMapping('columns: { cpu_pct: up }\nchunk_points: 20000\n', 'm.yaml'),
      /chunk_points/,
    );
    assert.throws(
      () => parseMapping('columns: { cpu_pct: up }\nheaders: { Authorization: x }\n', 'm.yaml'),
      /bearer_token_env/,
    );
  });

  it('turns host:port into a server name and refuses unsafe ones', () => {
    const rule = { serverLabel: 'instance', stripPort: true };
    assert.deepEqual(serverNameOf({ instance: 'node-1.example.com:9100' }, rule), {
      name: 'node-1.example.com',
    });
    assert.deepEqual(serverNameOf({ instance: 'db_7' }, rule), { name: 'db_7' });
    assert.ok('problem' in serverNameOf({ instance: 'h:9100' }, { ...rule, stripPort: false }));
    for (const bad of ['[::1]:9100', 'a b:9100', '../x:9100', '-x', 'x.lock:1'])
      assert.ok('problem' in serverNameOf({ instance: bad }, rule), bad);
    assert.ok('problem' in serverNameOf({ job: 'x' }, rule));
  });

  it('the cache key follows the URL and the queries, not the tuning', () => {
    const a = parseMapping('columns: { cpu_pct: up }\n', 'a');
    const b = parseMapping('columns: { cpu_pct: up }\nbackfill: 2d\ntimeout: 5s\n', 'b');
    const c = parseMapping('columns: { cpu_pct: up * 2 }\n', 'c');
    assert.equal(cacheKey('http://p:9090', a), cacheKey('http://p:9090', b));
    assert.notEqual(cacheKey('http://p:9090', a), cacheKey('http://p:9090', c));
    assert.notEqual(cacheKey('http://p:9090', a), cacheKey('http://q:9090', a));
  });

  it('parses the --metrics spec: scheme, base path, #mapping=, env and default mapping path', () => {
    const source = openPrometheusSource(
      `prometheus+https://mimir.example.com/prometheus/#mapping=${mapping}`,
      {
        cacheRoot: dir,
      },
    );
    assert.equal(source.baseUrl, 'https://mimir.example.com/prometheus');
    const viaEnv = openPrometheusSource('prometheus+http://p:9090', {
      cacheRoot: dir,
      env: { FLEETCAST_PROMETHEUS_MAPPING: mapping },
    });
    assert.equal(viaEnv.mapping.origin, mapping);
    assert.throws(
      () => openPrometheusSource('prometheus+http://p:9090', { cacheRoot: dir, env: {} }),
      /cannot read the Prometheus mapping .*config\/prometheus\.yaml/,
    );
    assert.throws(
      () => openPrometheusSource(`prometheus+http://u:secret@p:9090#mapping=${mapping}`, { cacheRoot: dir }),
      (e: unknown) =>
        e instanceof InputError && /credentials/.test(e.message) && !e.message.includes('secret'),
    );
    assert.throws(
      () => openPrometheusSource(`prometheus+http://p:9090#table`, { cacheRoot: dir }),
      /mapping=FILE/,
    );
  });

  it('a bearer token comes from the variable the mapping names, and must be set', async () => {
    const withToken = join(dir, 'token.yaml');
    await writeFile(withToken, 'bearer_token_env: PROM_TOKEN\ncolumns: { cpu_pct: up }\n');
    assert.throws(
      () =>
        openPrometheusSource(`prometheus+http://p:9090#mapping=${withToken}`, { cacheRoot: dir, env: {} }),
      /PROM_TOKEN, which is not set/,
    );
    const source = openPrometheusSource(`prometheus+http://p:9090#mapping=${withToken}`, {
      cacheRoot: dir,
      env: { PROM_TOKEN: 'sekrit-token-value' },
    });
    assert.ok(!source.description.includes('sekrit'));
  });
});
