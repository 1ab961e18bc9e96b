import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  parseManifest,
  proposeManifest,
  readManifest,
  readManifestIfExists,
  renderManifest,
  writeManifest,
  type Manifest,
} from '../../src/fleet/manifest.js';
import type { FleetServer } from '../../src/fleet/assess.js';
import { InputError } from '../../src/core/errors.js';

const NOW = new Date('2026-11-20T00:00:00Z');
const D = 86_400_000;

function server(name: string, overrides: Partial<FleetServer> = {}): FleetServer {
  return {
    name,
    profile: 'web',
    firstSeen: new Date(NOW.getTime() - 20 * D),
    lastSeen: NOW,
    samples: 5000,
    status: 'active',
    daysSilent: 0,
    historyDays: 20,
    eligible: true,
    eligibleAt: null,
    pendingReasons: [],
    ...overrides,
  };
}

describe('fleet manifest', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-manifest-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders sorted, one server per line, only stable fields', () => {
    const text = renderManifest({
      format_version: 1,
      servers: [
        { name: 'web-2', profile: 'web', first_seen: '2026-11-02' },
        { name: 'api-1', profile: 'api', first_seen: '2026-11-01' },
      ],
    });
    assert.equal(
      text,
      '{\n  "format_version": 1,\n  "servers": [\n' +
        '    {"name":"api-1","profile":"api","first_seen":"2026-11-01"},\n' +
        '    {"name":"web-2","profile":"web","first_seen":"2026-11-02"}\n' +
        '  ]\n}\n',
    );
    assert.deepEqual(parseManifest(text, 'x'), {
      format_version: 1,
      servers: [
        { name: 'api-1', profile: 'api', first_seen: '2026-11-01' },
        { name: 'web-2', profile: 'web', first_seen: '2026-11-02' },
      ],
    });
  });

  it('the shipped fleet/manifest.json is valid and canonical', async () => {
    const path = new URL('../../fleet/manifest.json', import.meta.url);
    const text = await readFile(path, 'utf8');
    assert.equal(renderManifest(parseManifest(text, 'fleet/manifest.json')), text);
  });

  it('renders an empty fleet', () => {
    assert.equal(
      renderManifest({ format_version: 1, servers: [] }),
      '{\n  "format_version": 1,\n  "servers": []\n}\n',
    );
  });

  it('the same fleet gives a byte-identical file, whatever the input order or last_seen', () => {
    const a = proposeManifest(null, [server('b'), server('a'), server('c')]).manifest;
    const later = [
      server('c', { lastSeen: new Date(NOW.getTime() + D) }),
      server('a'),
      server('b', { samples: 9999 }),
    ];
    const b = proposeManifest(null, later).manifest;
    assert.equal(renderManifest(a), renderManifest(b));
  });

  it('keeps first_seen of listed servers as the metrics window rolls forward', () => {
    const current: Manifest = {
      format_version: 1,
      servers: [{ name: 'a', profile: 'web', first_seen: '2026-01-01' }],
    };
    const change = proposeManifest(current, [server('a'), server('b')]);
    assert.deepEqual(change.manifest.servers, [
      { name: 'a', profile: 'web', first_seen: '2026-01-01' },
      { name: 'b', profile: 'web', first_seen: '2026-10-31' },
    ]);
    assert.deepEqual(
      change.added.map((s) => s.name),
      ['b'],
    );
    assert.deepEqual(change.removed, []);
  });

  it('leaves out pending and sunset-confirmed servers; keeps offline and candidates', () => {
    const change = proposeManifest(
      { format_version: 1, servers: [{ name: 'gone', profile: 'web', first_seen: '2026-01-01' }] },
      [
        server('pending', { eligible: false }),
        server('gone', { status: 'sunset_confirmed' }),
        server('quiet', { status: 'sunset_candidate' }),
        server('down', { status: 'offline' }),
        server('db', { profile: 'database' }),
      ],
    );
    assert.deepEqual(
      change.manifest.servers.map((s) => s.name),
      ['db', 'down', 'quiet'],
    );
    assert.deepEqual(
      change.removed.map((s) => s.name),
      ['gone'],
    );
  });

  it('reports profile changes', () => {
    const change = proposeManifest(
      { format_version: 1, servers: [{ name: 'a', profile: 'web', first_seen: '2026-01-01' }] },
      [server('a', { profile: 'api' })],
    );
    assert.equal(change.changed.length, 1);
    assert.equal(change.manifest.servers[0]!.profile, 'api');
  });

  it('keeps a listed server whose rows have no valid profile until the sunset rule removes it', () => {
    const current: Manifest = {
      format_version: 1,
      servers: [
        { name: 'gone', profile: 'web', first_seen: '2026-01-01' },
        { name: 'mislabelled', profile: 'web', first_seen: '2026-01-01' },
      ],
    };
    const change = proposeManifest(current, [], {
      unprofiled: [
        { name: 'mislabelled', status: 'active', problem: 'profile "WEB" must match', samples: 12 },
        { name: 'gone', status: 'sunset_confirmed', problem: 'profile "WEB" must match', samples: 3 },
        { name: 'stranger', status: 'active', problem: 'profile "WEB" must match', samples: 5 },
      ],
    });
    assert.deepEqual(
      change.manifest.servers.map((s) => s.name),
      ['mislabelled'],
    );
    assert.deepEqual(
      change.removed.map((s) => s.name),
      ['gone'],
    );
    assert.deepEqual(
      change.held.map((h) => h.server),
      ['mislabelled'],
    );
  });

  it('changes a profile only once the new one is settled', () => {
    const current: Manifest = {
      format_version: 1,
      servers: [{ name: 'a', profile: 'web', first_seen: '2026-01-01' }],
    };
    const unsettled = {
      others: ['web'],
      since: new Date(NOW.getTime() - 2 * D),
      settlesAt: new Date(NOW.getTime() + 5 * D),
    };
    const held = proposeManifest(current, [server('a', { profile: 'api', profileUnsettled: unsettled })]);
    assert.deepEqual(held.manifest, current);
    assert.deepEqual(held.changed, []);
    assert.match(held.held[0]!.problem, /profile kept at web: its rows carry api since 2026-11-18/);
    // Same profile as listed: nothing to hold, even while a blip of another profile is recent.
    const same = proposeManifest(current, [server('a', { profile: 'web', profileUnsettled: unsettled })]);
    assert.deepEqual(same.held, []);
    assert.deepEqual(same.manifest, current);
    const settled = proposeManifest(current, [server('a', { profile: 'api' })]);
    assert.equal(settled.manifest.servers[0]!.profile, 'api');
    assert.deepEqual(settled.held, []);
  });

  it('writes atomically and reads back', async () => {
    const path = join(dir, 'nested', 'manifest.json');
    const manifest = proposeManifest(null, [server('a'), server('b')]).manifest;
    await writeManifest(path, manifest);
    assert.deepEqual(await readManifest(path), manifest);
    assert.deepEqual(await readdir(join(dir, 'nested')), ['manifest.json']);
    assert.equal(await readFile(path, 'utf8'), renderManifest(manifest));
    assert.equal(await readManifestIfExists(join(dir, 'missing.json')), null);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /m\.json: not valid JSON/],
    [
      'unknown key',
      '{"format_version":1,"servers":[],"extra":1}',
      /m\.json: \(root\): Unrecognized key.*extra/,
    ],
    [
      'volatile field',
      '{"format_version":1,"servers":[{"name":"a","profile":"web","first_seen":"2026-01-01","last_seen":"x"}]}',
      /servers\[0\]: Unrecognized key.*last_seen/,
    ],
    [
      'bad server name',
      '{"format_version":1,"servers":[{"name":"../x","profile":"web","first_seen":"2026-01-01"}]}',
      /m\.json: servers\[0\]\.name: .*'\.\.'|servers\[0\]\.name/,
    ],
    [
      'html in name',
      '{"format_version":1,"servers":[{"name":"<b>","profile":"web","first_seen":"2026-01-01"}]}',
      /servers\[0\]\.name: server name contains "<"/,
    ],
    [
      'bad date',
      '{"format_version":1,"servers":[{"name":"a","profile":"web","first_seen":"2026-02-30"}]}',
      /servers\[0\]\.first_seen: is not a real date/,
    ],
    [
      'unsorted',
      '{"format_version":1,"servers":[{"name":"b","profile":"web","first_seen":"2026-01-01"},{"name":"a","profile":"web","first_seen":"2026-01-01"}]}',
      /servers\[1\]\.name: not sorted/,
    ],
    [
      'duplicate',
      '{"format_version":1,"servers":[{"name":"a","profile":"web","first_seen":"2026-01-01"},{"name":"a","profile":"web","first_seen":"2026-01-01"}]}',
      /servers\[1\]\.name: duplicate server a/,
    ],
    ['wrong version', '{"format_version":2,"servers":[]}', /format_version/],
  ];
  for (const [label, text, message] of bad) {
    it(`rejects ${label}, naming file, row and field`, async () => {
      const path = join(dir, 'm.json');
      await writeFile(path, text);
      await assert.rejects(readManifest(path), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, message);
        assert.ok(error.message.includes(path));
        return true;
      });
    });
  }
});
