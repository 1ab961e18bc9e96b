import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  actionsRefFromPackage,
  actionUses,
  parseActionsRef,
  type ActionsRef,
} from '../../src/adopt/actions-ref.js';
import {
  ADOPTED_WORKFLOWS,
  adoptedWorkflows,
  adoptWorkflow,
  checkoutDependencies,
} from '../../src/adopt/workflow-templates.js';
import { InputError } from '../../src/core/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const REF: ActionsRef = { owner: 'acme', repo: 'fleetcast', ref: 'v1' };
const source = (name: string): string => readFileSync(join(root, '.github', 'workflows', name), 'utf8');

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Workflow = { jobs: Record<string, { steps: Step[] }> };

/** The source workflow with the rewrite's intended changes made on the parsed form. */
function expectedFrom(text: string): Workflow {
  const workflow = parse(text) as Workflow;
  for (const job of Object.values(workflow.jobs)) {
    job.steps = job.steps
      .filter((s) => s.run?.trim() !== 'npm ci')
      .map((s) => {
        if (s.uses?.startsWith('./actions/')) return { ...s, uses: actionUses(REF, s.uses.slice(10)) };
        if (s.with?.cache === 'npm') {
          const { cache: _cache, ...rest } = s.with;
          return { ...s, with: rest };
        }
        return s;
      });
  }
  return workflow;
}

describe("adopted workflows: Fleetcast's own, rewritten for another repository", () => {
  for (const name of ADOPTED_WORKFLOWS) {
    test(`${name}: only the local action references, npm ci and the npm cache change`, () => {
      const text = source(name);
      const adopted = adoptWorkflow(text, name, REF, '9.9.9');
      assert.deepEqual(parse(adopted), expectedFrom(text));
      assert.deepEqual(checkoutDependencies(adopted), []);
      assert.match(adopted, /^# Written by `fleetcast init` \(Fleetcast 9\.9\.9\)/);
    });

    test(`${name}: every local action reference is rewritten to an action that exists`, () => {
      const local = [...source(name).matchAll(/uses:\s*\.\/actions\/([a-z0-9-]+)/g)].map((m) => m[1]!);
      assert.ok(local.length > 0, 'the source workflow uses Fleetcast actions');
      const adopted = adoptWorkflow(source(name), name, REF, '1.0.0');
      const remote = [...adopted.matchAll(/uses:\s*acme\/fleetcast\/actions\/([a-z0-9-]+)@v1\b/g)].map(
        (m) => m[1]!,
      );
      assert.deepEqual(remote, local);
      assert.ok(!adopted.includes('./'), 'no path relative to a Fleetcast checkout remains');
      for (const action of remote) assert.ok(existsSync(join(root, 'actions', action, 'action.yml')), action);
    });
  }

  test('a local reference or npm step it does not recognise is an error, not a broken workflow', () => {
    const workflow = (steps: string): string =>
      `name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
    const cases: Array<[string, RegExp]> = [
      ['      - uses: ./.github/actions/setup\n', /uses a local action \(\.\/\.github\/actions\/setup\)/],
      ['      - name: deps\n        run: npm ci\n', /runs npm \(npm ci\)/],
      ['      - run: |\n          npm install\n', /runs npm/],
      [
        '      - uses: actions/setup-node@v4\n        with:\n          cache: yarn\n',
        /caches yarn dependencies/,
      ],
    ];
    for (const [steps, message] of cases)
      assert.throws(() => adoptWorkflow(workflow(steps), 'x.yml', REF, '1.0.0'), message, steps);
    // the recognised forms go, with a trailing comment kept on the rewritten line
    const ok = adoptWorkflow(
      workflow('      - run: npm ci\n      - uses: ./actions/verify # the check\n'),
      'x.yml',
      REF,
      '1.0.0',
    );
    assert.match(ok, /- uses: acme\/fleetcast\/actions\/verify@v1 # the check\n/);
    assert.doesNotMatch(ok, /npm/);
  });

  test('adoptedWorkflows reads every adopted workflow from this repository', async () => {
    const files = await adoptedWorkflows(REF, '1.0.0');
    assert.deepEqual(
      files.map((f) => f.path),
      ADOPTED_WORKFLOWS.map((n) => `.github/workflows/${n}`),
    );
  });
});

describe('--actions-ref', () => {
  test('OWNER/REPO@REF with a tag, a branch or a sha', () => {
    assert.deepEqual(parseActionsRef('acme/fleetcast@v1'), REF);
    assert.deepEqual(parseActionsRef('my-org/fleet.cast@release/1.x').ref, 'release/1.x');
    const sha = '0123456789abcdef0123456789abcdef01234567';
    assert.equal(parseActionsRef(`acme/fleetcast@${sha}`).ref, sha);
    assert.equal(actionUses(REF, 'drift'), 'acme/fleetcast/actions/drift@v1');
  });

  test('a malformed value is bad input naming the part that is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['acme/fleetcast', /expected OWNER\/REPO@REF/],
      ['acme@v1', /expected OWNER\/REPO@REF/],
      ['-acme/fleetcast@v1', /"-acme" is not a GitHub account name/],
      ['acme/fleet cast@v1', /expected OWNER\/REPO@REF/],
      ['acme/..@v1', /"\.\." is not a GitHub repository name/],
      ['acme/fleetcast@v1..2', /not a valid git ref/],
      ['acme/fleetcast@-v1', /starting with a letter or digit/],
      ['acme/fleetcast@v1;rm', /letters, digits/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseActionsRef(text), InputError, text);
      assert.throws(() => parseActionsRef(text), message, text);
    }
  });

  test("the default comes from package.json's repository, at its major version's tag", () => {
    const at = (repository: unknown, version = '1.4.2') => actionsRefFromPackage({ repository, version });
    assert.deepEqual(at('github:acme/fleetcast'), REF);
    assert.deepEqual(at('acme/fleetcast'), REF);
    assert.deepEqual(at({ type: 'git', url: 'git+https://github.com/acme/fleetcast.git' }), REF);
    assert.deepEqual(at('https://github.com/acme/fleetcast', '2.0.0'), { ...REF, ref: 'v2' });
    assert.equal(at(undefined), undefined);
    assert.equal(at('https://gitlab.com/acme/fleetcast'), undefined);
    assert.equal(at('github:acme/fleetcast', 'next'), undefined);
  });
});
