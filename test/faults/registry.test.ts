import assert from 'node:assert/strict';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256Text } from '../../src/registry/checksums.js';
import { modelDir, pointerPath } from '../../src/registry/layout.js';
import { deploy, readPointer } from '../../src/registry/pointer.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { healthResponse, healthStatus } from '../../src/service/serving/health.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';
import { makeTinyModels, resumModelDir } from '../helpers/tiny-model.js';
import { newService } from '../service/fixtures.js';

/**
 * Fault suite, group "registry": a model directory or a pointer that is wrong in any way is
 * refused by `fleetcast deploy` (non-zero exit, the file and field named, current.json byte for
 * byte unchanged) and by the service (the old model keeps serving, /health says degraded and why).
 */
const servers = [
  { name: 'web-0001', profile: 'web' },
  { name: 'web-0002', profile: 'web' },
  { name: 'db-0001', profile: 'database' },
];

interface ModelFault {
  name: string;
  /** Damages the model directory (after it is written with a valid SHA256SUMS). */
  damage: (dir: string, ids: Record<string, string>) => Promise<void>;
  code: number;
  outcome: RegExp;
  /** The service's reason, when it differs from the CLI's. */
  serviceOutcome?: RegExp;
  output?: 'no_quantile_axis';
  nan?: boolean;
  validation?: { passed: boolean } | null;
}

const setJson = async (file: string, edit: (v: Record<string, unknown>) => void): Promise<void> => {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
};

const FAULTS: ModelFault[] = [
  {
    name: 'model.onnx changed after SHA256SUMS (tampered checksum)',
    damage: (d) => appendFile(join(d, 'model.onnx'), 'x'),
    code: 2,
    outcome: /model\.onnx: sha256 mismatch/,
  },
  {
    name: 'encoders.json changed after SHA256SUMS',
    damage: (d) => appendFile(join(d, 'encoders.json'), ' '),
    code: 2,
    outcome: /encoders\.json: sha256 mismatch/,
  },
  {
    name: 'a listed file missing (encoders.json)',
    damage: (d) => unlink(join(d, 'encoders.json')),
    code: 2,
    outcome: /encoders\.json is listed in SHA256SUMS but missing/,
  },
  {
    name: 'model.onnx missing',
    damage: (d) => unlink(join(d, 'model.onnx')),
    code: 2,
    outcome: /model\.onnx is listed in SHA256SUMS but missing/,
  },
  {
    name: 'SHA256SUMS missing',
    damage: (d) => unlink(join(d, 'SHA256SUMS')),
    code: 2,
    outcome: /SHA256SUMS is missing/,
  },
  {
    name: 'SHA256SUMS garbage',
    damage: (d) => writeFile(join(d, 'SHA256SUMS'), 'not a checksum line\n'),
    code: 2,
    outcome: /SHA256SUMS/,
  },
  {
    name: 'an extra unlisted file',
    damage: (d) => writeFile(join(d, 'notes.txt'), 'hi'),
    code: 2,
    outcome: /notes\.txt is not listed in SHA256SUMS/,
  },
  {
    name: 'a symlink in the model dir',
    damage: (d) => symlink('/etc/passwd', join(d, 'passwd')),
    code: 2,
    outcome: /passwd is a symbolic link/,
  },
  {
    name: 'model.onnx replaced by a symlink',
    damage: async (d) => {
      await unlink(join(d, 'model.onnx'));
      await symlink('/etc/hostname', join(d, 'model.onnx'));
    },
    code: 2,
    outcome: /model\.onnx/,
  },
  {
    name: 'a sub-folder in the model dir',
    damage: async (d) => {
      await mkdir(join(d, 'sub'));
      await writeFile(join(d, 'sub', 'a.txt'), 'x');
    },
    code: 2,
    outcome: /sub is a directory/,
  },
  {
    name: 'encoders.json with the wrong model_id',
    damage: async (d, ids) => {
      await setJson(join(d, 'encoders.json'), (v) => (v.model_id = ids.good));
      await resumModelDir(d);
    },
    code: 2,
    outcome: /encoders\.json: model_id .* does not match its directory/,
  },
  {
    name: 'encoders.json not JSON',
    damage: async (d) => {
      await writeFile(join(d, 'encoders.json'), '{');
      await resumModelDir(d);
    },
    code: 2,
    outcome: /encoders\.json: invalid JSON/,
  },
  {
    name: 'encoders.json with a negative horizon',
    damage: async (d) => {
      await setJson(join(d, 'encoders.json'), (v) => (v.horizon_steps = -6));
      await resumModelDir(d);
    },
    code: 2,
    outcome: /encoders\.json.*horizon_steps/,
  },
  {
    name: 'encoders.json with an unsafe server name in the vocabulary',
    damage: async (d) => {
      await setJson(join(d, 'encoders.json'), (v) => {
        const sid = v.server_id as { classes: Record<string, number> };
        sid.classes['../../etc/passwd'] = 99;
      });
      await resumModelDir(d);
    },
    code: 2,
    outcome: /encoders\.json/,
  },
  {
    name: 'a truncated ONNX file',
    damage: async (d) => {
      await truncate(join(d, 'model.onnx'), 200);
      await resumModelDir(d);
    },
    code: 2,
    outcome: /model\.onnx: onnxruntime cannot load it/,
  },
  {
    name: 'a non-ONNX model.onnx',
    damage: async (d) => {
      await writeFile(join(d, 'model.onnx'), 'this is not an ONNX graph\n');
      await resumModelDir(d);
    },
    code: 2,
    outcome: /model\.onnx: onnxruntime cannot load it/,
  },
  {
    name: 'an empty model.onnx',
    damage: async (d) => {
      await writeFile(join(d, 'model.onnx'), '');
      await resumModelDir(d);
    },
    code: 2,
    outcome: /model\.onnx/,
  },
  {
    name: 'a model whose forecasts are NaN',
    damage: async () => {},
    nan: true,
    code: 2,
    outcome: /non-finite/,
  },
  {
    name: 'a model with the wrong output shape',
    damage: async () => {},
    output: 'no_quantile_axis',
    code: 2,
    outcome: /output quantiles has shape \[\d+,6,3\] \(float32\), expected \[\d+,6,3,3\]/,
  },
  {
    name: 'encoders.json promising more quantiles than the graph returns',
    damage: async (d) => {
      await setJson(join(d, 'encoders.json'), (v) => (v.quantiles = [0.1, 0.5, 0.9, 0.95]));
      await resumModelDir(d);
    },
    code: 2,
    outcome: /expected \[\d+,6,3,4\]/,
  },
  {
    name: 'validation.json passed: false',
    damage: async () => {},
    validation: { passed: false },
    code: 3,
    outcome: /did not pass validation/,
    serviceOutcome: /./,
  },
  {
    name: 'no validation.json',
    damage: async () => {},
    validation: null,
    code: 3,
    outcome: /validation\.json is missing/,
    serviceOutcome: /./,
  },
  {
    name: 'validation.json of another model',
    damage: async (d, ids) => {
      await setJson(join(d, 'validation.json'), (v) => (v.model_id = ids.good));
      await resumModelDir(d);
    },
    code: 2,
    outcome: /validation\.json is the report of/,
    serviceOutcome: /./,
  },
];

describe('faults: registry (deploy refuses, pointer untouched)', () => {
  let root: string;
  let registry: string;
  const ids: Record<string, string> = {};

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-faults-registry-'));
    registry = join(root, 'registry');
    const specs = [{ name: 'good' }, { name: 'good2' }, ...FAULTS].map((f, seed) => {
      const fault = f as Partial<ModelFault> & { name: string };
      const validation = fault.validation === undefined ? { passed: true } : fault.validation;
      return {
        servers,
        seed,
        nan: fault.nan ?? false,
        output: fault.output ?? ('ok' as const),
        ...(validation === null ? {} : { validation }),
      };
    });
    const made = await makeTinyModels(join(registry, 'models'), specs);
    ids.good = made[0]!;
    ids.good2 = made[1]!;
    for (const [i, fault] of FAULTS.entries()) {
      ids[fault.name] = made[i + 2]!;
      await fault.damage(modelDir(registry, made[i + 2]!), ids);
    }
    await deploy(registry, ids.good, 'first');
  });
  after(() => rm(root, { recursive: true, force: true }));

  const pointerText = (): Promise<string> => readFile(pointerPath(registry), 'utf8');

  for (const fault of FAULTS)
    it(`registry | deploy: ${fault.name} → exit ${fault.code}, named, current.json unchanged`, async () => {
      const before = await pointerText();
      const run = await fleetcast([
        'deploy',
        '--registry',
        registry,
        '--model-id',
        ids[fault.name]!,
        '--reason',
        'fault',
      ]);
      assert.equal(run.code, fault.code, run.stdout + run.stderr);
      assert.match(run.stderr, fault.outcome);
      assert.match(run.stderr, new RegExp(ids[fault.name]!));
      assert.equal(await pointerText(), before);
      const leftovers = (await readdir(registry)).filter(
        (n) => n.startsWith('.') || n.includes('tmp') || n.endsWith('.lock'),
      );
      assert.deepEqual(leftovers, []);
    });

  for (const [name, id, outcome] of [
    [
      'a model id that does not exist',
      'tft-20260101T000000Z-abcdef',
      /SHA256SUMS is missing|not found|does not exist/,
    ],
    ['a model id with path traversal', '../../etc', /"\.\.\/\.\.\/etc" is not a model id/],
    ['a model id with shell characters', 'x;rm -rf /', /is not a model id/],
    ['an empty model id', '', /model id/],
  ] as const)
    it(`registry | deploy: ${name} → exit 2, current.json unchanged`, async () => {
      const before = await pointerText();
      const run = await fleetcast(['deploy', '--registry', registry, '--model-id', id, '--reason', 'fault']);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, outcome);
      assert.equal(await pointerText(), before);
    });

  for (const [name, text] of [
    ['truncated JSON', '{"model_id": "tft-'],
    ['an empty file', ''],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['fields of the wrong type', '{"format_version": "1", "model_id": 7}'],
  ] as const)
    it(`registry | malformed current.json (${name}) → deploy and models exit 2 naming current.json, file left as is`, async () => {
      const good = await pointerText();
      try {
        await writeFile(pointerPath(registry), text);
        for (const args of [
          ['deploy', '--registry', registry, '--model-id', ids.good2!, '--reason', 'x'],
          ['models', '--registry', registry],
        ]) {
          const run = await fleetcast(args);
          assert.equal(run.code, 2, run.stdout + run.stderr);
          assert.match(run.stderr, /current\.json/);
          assert.equal(await readFile(pointerPath(registry), 'utf8'), text);
        }
      } finally {
        await writeFile(pointerPath(registry), good);
      }
    });

  it('registry | after every refusal, a good deploy still succeeds', async () => {
    const run = await fleetcast([
      'deploy',
      '--registry',
      registry,
      '--model-id',
      ids.good2!,
      '--reason',
      'after faults',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await readPointer(registry))!.model_id, ids.good2);
  });
});

describe('faults: registry (the service keeps the old model)', () => {
  let root: string;
  let registry: string;
  let service: ForecastService;
  const ids: Record<string, string> = {};

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-faults-service-registry-'));
    registry = join(root, 'registry');
    const serviceFaults = FAULTS.filter((f) => f.serviceOutcome === undefined);
    const made = await makeTinyModels(
      join(registry, 'models'),
      [{ name: 'good' }, ...serviceFaults].map((f, seed) => ({
        servers,
        seed,
        nan: (f as ModelFault).nan ?? false,
        output: (f as ModelFault).output ?? ('ok' as const),
      })),
    );
    ids.good = made[0]!;
    for (const [i, fault] of serviceFaults.entries()) {
      ids[fault.name] = made[i + 1]!;
      await fault.damage(modelDir(registry, made[i + 1]!), ids);
    }
    await deploy(registry, ids.good, 'first');
    service = newService(registry, () => servers, { manifest: () => servers.map((s) => ({ ...s })) });
    const outcome = await service.start();
    assert.equal(outcome.result, 'success', outcome.reason);
  });
  after(async () => {
    await service.close();
    await rm(root, { recursive: true, force: true });
  });

  const pointTo = async (id: string): Promise<void> => {
    let sha = 'f'.repeat(64);
    try {
      sha = sha256Text(await readFile(join(modelDir(registry, id), 'SHA256SUMS')));
    } catch {
      // no SHA256SUMS: any digest
    }
    const pointer = {
      format_version: 1,
      model_id: id,
      sha256: sha,
      deployed_at: new Date().toISOString(),
      previous_model_id: ids.good,
      reason: 'fault',
    };
    await writeFile(pointerPath(registry), `${JSON.stringify(pointer, null, 2)}\n`);
  };

  const stillServing = async (reason: RegExp): Promise<void> => {
    assert.equal(service.slot.current?.id, ids.good);
    assert.equal(healthStatus(service), 'degraded');
    assert.match(String(healthResponse(service).reason), reason);
    const batch = await service.predict(['web-0001']);
    assert.equal(batch.model_id, ids.good);
    assert.ok(batch.forecasts[0]!.forecast.cpu_pct!.p50!.every(Number.isFinite));
  };

  for (const fault of FAULTS.filter((f) => f.serviceOutcome === undefined))
    it(`registry | service: pointer to ${fault.name} → swap refused, old model serves, /health degraded`, async () => {
      await pointTo(ids[fault.name]!);
      const outcome = await service.reload('pointer');
      assert.equal(outcome.result, 'failure');
      await stillServing(/./);
    });

  for (const [name, pointer, reason] of [
    [
      'a pointer to a missing model',
      () => pointTo('tft-20260101T000000Z-abcdef'),
      /tft-20260101T000000Z-abcdef/,
    ],
    [
      'a pointer whose sha256 does not match SHA256SUMS',
      async () => {
        await pointTo(ids.good!);
        await setJson(pointerPath(registry), (v) => {
          v.sha256 = 'a'.repeat(64);
          v.model_id = ids['a model whose forecasts are NaN'];
        });
      },
      /does not match the pointer/,
    ],
    [
      'malformed current.json (truncated)',
      () => writeFile(pointerPath(registry), '{"model_id": "tft-'),
      /current\.json/,
    ],
    ['current.json that is an array', () => writeFile(pointerPath(registry), '[]'), /current\.json/],
    [
      'current.json with a traversal model_id',
      async () => {
        await pointTo(ids.good!);
        await setJson(pointerPath(registry), (v) => (v.model_id = '../../../etc'));
      },
      /current\.json|model/,
    ],
  ] as const)
    it(`registry | service: ${name} → swap refused, old model serves, /health degraded and says why`, async () => {
      await pointer();
      const outcome = await service.reload('pointer');
      assert.equal(outcome.result, 'failure');
      assert.match(outcome.reason ?? '', reason);
      await stillServing(reason);
    });

  it('registry | service: recovers when the pointer is good again', async () => {
    await pointTo(ids.good!); // deploy itself refuses to read the malformed pointer left by the case above
    const outcome = await service.reload('pointer');
    assert.ok(['success', 'unchanged'].includes(outcome.result), outcome.reason);
    assert.equal(service.slot.current?.id, ids.good);
    assert.equal(healthStatus(service), 'ok', String(healthResponse(service).reason));
  });
});
