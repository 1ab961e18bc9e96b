import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelDir, pointerPath } from '../../src/registry/layout.js';
import { deploy, readPointer } from '../../src/registry/pointer.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';
import { validationJson } from '../helpers/model-fixture.js';
import { makeTinyModels, resumModelDir } from '../helpers/tiny-model.js';

/**
 * `fleetcast deploy` and `rollback` check what the service will check before they move the
 * pointer: the model loads in onnxruntime-node, forecasts a sample (known servers and the unknown
 * slot) with exactly the output shape encoders.json promises and only finite values, and its
 * validation.json says it passed (unless --force with a --reason, which the pointer records).
 */
describe('deploy and rollback refuse a model the service could not serve', () => {
  const servers = [
    { name: 'web-0001', profile: 'web' },
    { name: 'web-0002', profile: 'web' },
    { name: 'db-0001', profile: 'database' },
  ];
  let root: string;
  let registry: string;
  const m: Record<string, string> = {};
  const names = [
    'good',
    'good2',
    'nan',
    'truncated',
    'notOnnx',
    'shape',
    'failed',
    'noValidation',
    'otherValidation',
  ];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-deploy-checks-'));
    registry = join(root, 'registry');
    const ids = await makeTinyModels(
      join(registry, 'models'),
      names.map((name, seed) => ({
        servers,
        seed,
        nan: name === 'nan',
        ...(name === 'noValidation' ? {} : { validation: { passed: name !== 'failed' } }),
      })),
    );
    names.forEach((name, i) => (m[name] = ids[i]!));
    const dir = (name: string): string => modelDir(registry, m[name]!);
    await truncate(join(dir('truncated'), 'model.onnx'), 200);
    await writeFile(join(dir('notOnnx'), 'model.onnx'), 'this is not an ONNX graph\n');
    const encodersPath = join(dir('shape'), 'encoders.json');
    const encoders = JSON.parse(await readFile(encodersPath, 'utf8')) as { quantiles: number[] };
    encoders.quantiles = [0.1, 0.5, 0.9, 0.95]; // the graph returns three
    await writeFile(encodersPath, `${JSON.stringify(encoders, null, 2)}\n`);
    const other = validationJson(
      m.good!,
      servers.map((s) => s.name),
    );
    await writeFile(join(dir('otherValidation'), 'validation.json'), `${JSON.stringify(other, null, 2)}\n`);
    for (const name of ['truncated', 'notOnnx', 'shape', 'otherValidation']) await resumModelDir(dir(name));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const pointerText = (): Promise<string> => readFile(pointerPath(registry), 'utf8');
  const deployCli = (name: string, ...extra: string[]) =>
    fleetcast(['deploy', '--registry', registry, '--model-id', m[name]!, ...extra]);

  it('deploys a model that loads, forecasts and passed validation', async () => {
    const ok = await deployCli('good', '--reason', 'first');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`deployed ${m.good}`));
    assert.equal((await readPointer(registry))!.model_id, m.good);
  });

  for (const [name, pattern] of [
    ['truncated', /model\.onnx: onnxruntime cannot load it/],
    ['notOnnx', /model\.onnx: onnxruntime cannot load it/],
    ['nan', /non-finite/],
    ['shape', /shape \[4,6,3,3\] \(float32\), expected \[4,6,3,4\]/],
  ] as const) {
    it(`refuses a model whose check fails (${name}), exit 2, pointer untouched`, async () => {
      const before = await pointerText();
      const run = await deployCli(name, '--reason', 'should not happen');
      assert.equal(run.code, 2, run.stdout);
      assert.match(run.stderr, new RegExp(m[name]!));
      assert.match(run.stderr, pattern);
      assert.equal(await pointerText(), before);
    });
  }

  it('--force does not push past a model that cannot forecast', async () => {
    const before = await pointerText();
    const run = await deployCli('nan', '--force', '--reason', 'try anyway');
    assert.equal(run.code, 2);
    assert.equal(await pointerText(), before);
  });

  it('refuses validation.json "passed: false" (exit 3) unless --force with a --reason, which is recorded', async () => {
    const before = await pointerText();
    const refused = await deployCli('failed', '--reason', 'oops');
    assert.equal(refused.code, 3, refused.stdout);
    assert.match(refused.stderr, /did not pass validation/);
    assert.match(refused.stderr, /--force --reason/);
    assert.equal(await pointerText(), before);

    const noReason = await deployCli('failed', '--force');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--force needs --reason/);
    assert.equal(await pointerText(), before);

    const forced = await deployCli('failed', '--force', '--reason', 'incident 42: the gate misfired');
    assert.equal(forced.code, 0, forced.stderr);
    const pointer = (await readPointer(registry))!;
    assert.equal(pointer.model_id, m.failed);
    assert.match(pointer.reason, /incident 42: the gate misfired/);
    assert.match(pointer.reason, /forced past validation \(failed\)/);
  });

  it('refuses a model without validation.json, or with the report of another model', async () => {
    const missing = await deployCli('noValidation', '--reason', 'x');
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /validation\.json is missing/);
    const other = await deployCli('otherValidation', '--reason', 'x');
    assert.equal(other.code, 2);
    assert.match(other.stderr, new RegExp(`validation\\.json is the report of ${m.good}`));
  });

  it('rollback checks its target the same way', async () => {
    await deploy(registry, m.good!, 'setup');
    await deploy(registry, m.good2!, 'setup');
    const before = await pointerText();
    const nan = await fleetcast(['rollback', '--registry', registry, '--model-id', m.nan!]);
    assert.equal(nan.code, 2);
    assert.match(nan.stderr, /non-finite/);
    assert.equal(await pointerText(), before);

    // previous_model_id names a model that failed validation
    await deploy(registry, m.failed!, 'setup');
    await deploy(registry, m.good!, 'setup');
    const refused = await fleetcast(['rollback', '--registry', registry]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /did not pass validation/);
    const forced = await fleetcast([
      'rollback',
      '--registry',
      registry,
      '--force',
      '--reason',
      'known good enough',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const pointer = (await readPointer(registry))!;
    assert.equal(pointer.model_id, m.failed);
    assert.match(pointer.reason, /known good enough/);
  });
});
