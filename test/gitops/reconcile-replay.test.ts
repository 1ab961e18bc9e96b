import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ReconcilePolicy } from '../../src/config/retrain-config.js';
import { renderManifest } from '../../src/fleet/manifest.js';
import { LocalForge, type LocalWorkflowRun } from '../../src/forge/local-forge.js';
import type { CommitAuthor, FailedJob } from '../../src/forge/types.js';
import {
  AUTOMATIC_ROLLBACK_REQUESTER,
  deployCommitMessage,
  revertCommitMessage,
} from '../../src/gitops/deploy-commit.js';
import { VERIFY_STATUS_CONTEXT } from '../../src/gitops/verify-report.js';
import { reconcileDriftPr } from '../../src/gitops/drift-pr.js';
import type { DriftPrBody } from '../../src/gitops/drift-pr-body.js';
import { reconcile, type ReconcileOutcome } from '../../src/gitops/reconcile.js';
import { unescapeMarkdown } from '../../src/gitops/markdown.js';
import { RECONCILE_LABEL, parseReconcileState } from '../../src/gitops/reconcile-issue.js';
import { sha256Text } from '../../src/registry/checksums.js';
import { createGitFixture, HUMAN, type GitFixture } from '../helpers/git-fixture.js';

/**
 * Replays the failure paths of the retrain pipeline against the local forge (real git, a bare
 * remote): each scripted failure is followed by reconcile runs on a fake clock. The test plays the
 * runner: it finishes every recorded retrain run as the script says, writing the deploy and revert
 * commits a real run would push.
 */

const BOT: CommitAuthor = { name: 'fleetcast-bot', email: 'bot@fleetcast.test' };
const MANIFEST = 'fleet/manifest.json';
const POINTER = 'models-registry/current.json';
const WORKFLOW = 'retrain.yml';
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);

type Outcome = 'success' | 'train-fails' | 'gate-fails' | 'approval-rejected' | 'verify-reverts';

function manifestText(servers: string[]): string {
  return renderManifest({
    format_version: 1,
    servers: servers.map((name) => ({ name, profile: 'web', first_seen: '2026-01-01' })),
  });
}

function encoders(modelId: string, servers: string[]): string {
  return `${JSON.stringify({
    format_version: 1,
    model_id: modelId,
    server_id: {
      unknown_index: 0,
      num_embeddings: servers.length + 1,
      classes: Object.fromEntries(servers.map((s, i) => [s, i + 1])),
    },
    profile: { unknown_index: 0, classes: { web: 1 } },
    server_profiles: Object.fromEntries(servers.map((s) => [s, 'web'])),
    observed_features: ['cpu_pct'],
    known_features: ['tod_sin'],
    targets: ['cpu_pct'],
    quantiles: [0.1, 0.5, 0.9],
    resolution_seconds: 900,
    lookback_steps: 8,
    horizon_steps: 4,
  })}\n`;
}

function prBody(servers: string[], text: string): DriftPrBody {
  return {
    priority: 'high',
    driftPct: 40,
    fleetSize: servers.length,
    unknownRatePct: null,
    modelId: null,
    modelAgeDays: null,
    modelAge: 'n/a',
    stale: false,
    thresholds: {},
    reasons: ['drift'],
    manifestPath: MANIFEST,
    manifestSha256: sha256Text(text),
    newServers: { names: servers, total: servers.length },
    sunsetServers: { names: [], total: 0 },
    pendingServers: { names: [], total: 0 },
  };
}

const FAILED_JOBS: Record<Exclude<Outcome, 'success'>, FailedJob[]> = {
  'train-fails': [{ name: 'train', conclusion: 'failure' }],
  'gate-fails': [{ name: 'train', conclusion: 'failure' }],
  'approval-rejected': [{ name: 'deploy', conclusion: 'failure' }],
  'verify-reverts': [{ name: 'verify', conclusion: 'failure' }],
};

class Replay {
  now = new Date(T0);
  /** Outcomes for the next retrain runs, in order; 'success' once exhausted. */
  script: Outcome[] = [];
  dispatches: Array<{ at: Date; id: string }> = [];
  outcomes: ReconcileOutcome[] = [];
  private models = 0;
  private played = new Set<number>();

  private constructor(
    readonly fixture: GitFixture,
    readonly forge: LocalForge,
    readonly dir: string,
    readonly policy: ReconcilePolicy,
  ) {}

  static async start(policy: Partial<ReconcilePolicy> = {}): Promise<Replay> {
    const fixture = await createGitFixture({ [MANIFEST]: manifestText(['web-a', 'web-b']) });
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-replay-'));
    const replay: Replay = new Replay(
      fixture,
      await LocalForge.create({
        repository: fixture.remote,
        pullsDir: dir,
        now: () => replay.now,
      }),
      dir,
      { backoffInitialMinutes: 60, backoffMaxMinutes: 480, maxAttempts: 5, workflow: WORKFLOW, ...policy },
    );
    await replay.deploy(['web-a', 'web-b']);
    return replay;
  }

  async stop(): Promise<void> {
    await this.fixture.cleanup();
    await rm(this.dir, { recursive: true, force: true });
  }

  tick(minutes: number): void {
    this.now = new Date(this.now.getTime() + minutes * 60_000);
  }

  /** The drift PR for `servers`, merged as a person would; the push starts a retrain run. */
  async mergeDriftPr(servers: string[]): Promise<void> {
    const text = manifestText(servers);
    const out = await reconcileDriftPr(
      this.forge,
      { retrain: true, body: prBody(servers, text), manifestText: text },
      { base: 'main', manifestPath: MANIFEST, bot: BOT, dryRun: false },
    );
    assert.equal(out.operation, 'created');
    await this.forge.mergePullRequest(out.pullRequest!.number, 'Merge drift PR');
    await this.forge.recordWorkflowRun(WORKFLOW, 'push');
  }

  async mainFile(path: string): Promise<string> {
    return (await this.forge.readFile('main', path))!;
  }

  /** A deploy commit as actions/deploy pushes it: the model's encoders and the bumped pointer. */
  async deploy(servers: string[], runUrl?: string): Promise<{ sha: string; modelId: string }> {
    const stamp = new Date(this.now.getTime() + this.models * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const modelId = `tft-${stamp}-${(0xa00000 + ++this.models).toString(16)}`;
    const previous = (await this.forge.readFile('main', POINTER)) ?? null;
    const previousId = previous === null ? null : (JSON.parse(previous) as { model_id: string }).model_id;
    const pointer = {
      format_version: 1,
      model_id: modelId,
      sha256: sha256Text(modelId),
      deployed_at: this.now.toISOString(),
      previous_model_id: previousId,
      reason: 'fleet manifest changed',
    };
    const message = deployCommitMessage({
      modelId,
      previousModelId: previousId,
      fleetSize: servers.length,
      coveragePct: 100,
      qRisk: 0.08,
      registryDir: 'models-registry',
      reason: 'fleet manifest changed',
      ...(runUrl === undefined ? {} : { runUrl }),
    });
    const sha = await this.fixture.commitAs(
      BOT,
      'main',
      {
        [`models-registry/models/${modelId}/encoders.json`]: encoders(modelId, servers),
        [POINTER]: `${JSON.stringify(pointer, null, 2)}\n`,
      },
      message,
    );
    return { sha, modelId };
  }

  /** `git revert` of a deploy commit: verify's automatic one, or a person's. */
  async revert(deploy: { sha: string; modelId: string }, by: 'verify' | CommitAuthor): Promise<string> {
    const parent = (await this.fixture.store.readCommit(deploy.sha)).parents[0]!;
    const before = await this.forge.readFile(parent, POINTER);
    const message = revertCommitMessage(`deploy: ${deploy.modelId}`, deploy.sha, {
      from: deploy.modelId,
      reason: by === 'verify' ? 'verification failed' : 'forecasts look wrong',
      requestedBy: by === 'verify' ? AUTOMATIC_ROLLBACK_REQUESTER : by.name,
    });
    return this.fixture.commitAs(
      by === 'verify' ? BOT : by,
      'main',
      { [POINTER]: before ?? null, [`models-registry/models/${deploy.modelId}/encoders.json`]: null },
      message,
    );
  }

  /** Plays every recorded run not played yet, as the script says. */
  async playRuns(): Promise<void> {
    for (const run of await this.forge.workflowRuns()) {
      if (this.played.has(run.id) || run.status !== 'queued') continue;
      this.played.add(run.id);
      await this.play(run, this.script.shift() ?? 'success');
    }
  }

  private async play(run: LocalWorkflowRun, outcome: Outcome): Promise<void> {
    const servers = JSON.parse(await this.mainFile(MANIFEST)) as { servers: Array<{ name: string }> };
    const names = servers.servers.map((s) => s.name);
    if (outcome === 'success') {
      await this.deploy(names);
      return this.forge.finishWorkflowRun(run.id, 'completed', 'success');
    }
    if (outcome === 'verify-reverts') await this.revert(await this.deploy(names), 'verify');
    await this.forge.finishWorkflowRun(run.id, 'completed', 'failure', FAILED_JOBS[outcome]);
  }

  /**
   * One scheduled drift job: the drift PR step (which finds main already has the manifest) and the
   * reconcile step; checks the invariants at every run.
   */
  async run(): Promise<ReconcileOutcome> {
    const manifest = await this.mainFile(MANIFEST);
    const before = this.outcomes.at(-1)?.state;
    const activeBefore = (await this.forge.workflowRuns()).some((r) => r.status !== 'completed');
    await reconcileDriftPr(
      this.forge,
      { retrain: true, body: prBody([], manifest), manifestText: manifest },
      { base: 'main', manifestPath: MANIFEST, bot: BOT, dryRun: false },
    );
    const outcome = await reconcile(this.forge, {
      base: 'main',
      manifestPath: MANIFEST,
      registryPath: 'models-registry',
      workflow: WORKFLOW,
      policy: this.policy,
      dryRun: false,
      now: this.now,
    });
    this.outcomes.push(outcome);
    // Exactly one drift PR (open or merged) per proposal, never two open.
    const pulls = await Promise.all(
      ['open', 'closed'].map(async () => this.forge.findOpenPullRequest('fleetcast/drift/main', 'main')),
    );
    assert.ok(
      pulls.every((p) => p === undefined),
      'no drift PR stays open once main has the manifest',
    );
    // At most one tracking issue, ever, and it is open exactly when not converged.
    const issues = (await this.forge.issues()).filter((i) => i.labels.includes(RECONCILE_LABEL));
    assert.ok(issues.length <= 1, `one tracking issue, found ${issues.length}`);
    if (issues[0] !== undefined) {
      assert.equal(issues[0].state === 'closed', outcome.converged, `issue state at ${outcome.status}`);
      assert.deepEqual(parseReconcileState(issues[0].body), outcome.state, 'the issue carries the state');
    } else assert.ok(outcome.converged, 'a divergence opens the issue');
    if (outcome.dispatched !== undefined) {
      this.dispatches.push({ at: this.now, id: outcome.dispatched.id });
      assert.ok(!activeBefore, 'never dispatched while a retrain run is active');
      if (before?.nextTryAt) assert.ok(this.now >= new Date(before.nextTryAt), 'backoff respected');
      assert.ok(
        this.now.getTime() >= Date.parse(outcome.state.since) + this.policy.backoffInitialMinutes * 60_000,
        'the merge’s own retrain gets the initial wait',
      );
    }
    return outcome;
  }

  /** `steps` runs, `minutes` apart, playing the runs before each; stops early when `until` holds. */
  async runFor(steps: number, minutes: number, until?: (o: ReconcileOutcome) => boolean): Promise<number> {
    for (let i = 1; i <= steps; i++) {
      this.tick(minutes);
      await this.playRuns();
      const outcome = await this.run();
      if (until?.(outcome)) return i;
    }
    return steps + 1;
  }

  /** The issue body as a reader sees it (Markdown escapes undone). */
  async issueBody(): Promise<string> {
    return unescapeMarkdown((await this.forge.issues())[0]?.body ?? '');
  }
}

const converged = (o: ReconcileOutcome) => o.converged;

describe('reconcile replay (local forge, real git, fake clock)', () => {
  for (const [failure, why] of [
    ['train-fails', /training or its validation gate failed/],
    ['gate-fails', /training or its validation gate failed/],
    ['approval-rejected', /approval \(environment production\) was rejected/],
    ['verify-reverts', /verify failed/],
  ] as const) {
    test(`${failure} twice, then it clears: converges with backoff between dispatches`, async () => {
      const r = await Replay.start();
      try {
        await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
        r.script = [failure, failure, failure]; // the merge's own run and two dispatches fail
        const first = await r.run();
        assert.equal(first.status, 'running', 'the merge’s own retrain is queued');
        assert.equal(first.issue.operation, 'created');
        const steps = await r.runFor(60, 15, converged);
        assert.ok(steps <= 60, `converged after ${steps} runs`);
        assert.equal(r.dispatches.length, 3, 'two failed retries and the one that worked');
        const gaps = r.dispatches
          .slice(1)
          .map((d, i) => (d.at.getTime() - r.dispatches[i]!.at.getTime()) / 60_000);
        assert.ok(gaps[0]! >= 120 && gaps[1]! >= 240, `exponential backoff: ${gaps.join(', ')} minutes`);
        const body = await r.issueBody();
        assert.match(body, why, 'the issue says why the attempts failed');
        assert.equal((await r.forge.issues())[0]!.state, 'closed', 'closed once converged');
        assert.equal(r.outcomes.at(-1)!.issue.operation, 'closed');
        // Converged stays quiet: no more dispatches, the closed issue untouched.
        await r.runFor(10, 60);
        assert.equal(r.dispatches.length, 3);
        assert.ok(r.outcomes.slice(-10).every((o) => o.issue.operation === 'unchanged'));
      } finally {
        await r.stop();
      }
    });
  }

  test('the attempt cap stops dispatching and the issue says so', async () => {
    const r = await Replay.start({ maxAttempts: 3 });
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      r.script = Array<Outcome>(20).fill('train-fails');
      await r.runFor(100, 30);
      assert.equal(r.dispatches.length, 3);
      const last = r.outcomes.at(-1)!;
      assert.equal(last.status, 'gave-up');
      assert.equal(last.converged, false);
      assert.match(await r.issueBody(), /reconcile_max_attempts \(3\) reached/);
      // A new manifest starts a new count.
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c', 'web-d']);
      r.script = [];
      assert.ok((await r.runFor(30, 30, converged)) <= 30);
    } finally {
      await r.stop();
    }
  });

  test("a person's revert is never fought; a new manifest lifts the hold", async () => {
    const r = await Replay.start();
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      await r.runFor(10, 15, converged); // the merge's own run succeeds
      assert.equal(r.outcomes.at(-1)!.status, 'converged');
      assert.deepEqual(await r.forge.issues(), [], 'nothing to track: the merge retrained at once');
      const history = await r.forge.fileHistory('main', POINTER, 1);
      const deployed = /Fleetcast-Model: (\S+)/.exec(history[0]!.message)![1]!;
      await r.revert({ sha: history[0]!.sha, modelId: deployed }, HUMAN);
      const dispatchesBefore = r.dispatches.length;
      await r.runFor(48, 60);
      assert.equal(r.dispatches.length, dispatchesBefore, 'no retrain for the rolled-back manifest');
      const last = r.outcomes.at(-1)!;
      assert.equal(last.status, 'held');
      const issues = await r.forge.issues();
      assert.equal(issues.length, 1, 'one issue, created once');
      assert.equal(issues[0]!.state, 'open');
      assert.match(await r.issueBody(), /Dana Operator rolled back/);
      assert.match(await r.issueBody(), /never fights a person/);
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c', 'web-d']);
      assert.ok((await r.runFor(10, 15, converged)) <= 10, 'a new manifest retrains and converges');
      // Diverging again reopens the same issue rather than opening a second one.
      const history2 = await r.forge.fileHistory('main', POINTER, 1);
      const id2 = /Fleetcast-Model: (\S+)/.exec(history2[0]!.message)![1]!;
      await r.revert({ sha: history2[0]!.sha, modelId: id2 }, HUMAN);
      await r.runFor(2, 60);
      const after = await r.forge.issues();
      assert.equal(after.length, 1);
      assert.equal(after[0]!.number, issues[0]!.number);
      assert.equal(after[0]!.state, 'open');
      assert.ok(r.outcomes.some((o) => o.issue.operation === 'reopened'));
    } finally {
      await r.stop();
    }
  });

  test('two retrains race: the loop waits for every active run and dispatches none meanwhile', async () => {
    const r = await Replay.start();
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      const manual = await r.forge.recordWorkflowRun(WORKFLOW, 'workflow_dispatch', { reason: 'by hand' });
      const [push] = await r.forge.workflowRuns();
      await r.forge.finishWorkflowRun(push!.id, 'in_progress');
      await r.forge.finishWorkflowRun(manual.id, 'waiting');
      for (let i = 0; i < 12; i++) {
        r.tick(60);
        const o = await r.run();
        assert.equal(o.status, 'running');
        assert.equal(o.dispatched, undefined);
      }
      await r.forge.finishWorkflowRun(push!.id, 'completed', 'failure', FAILED_JOBS['train-fails']);
      r.tick(30);
      assert.equal((await r.run()).status, 'running', 'the manual run is still waiting for approval');
      await r.deploy(['web-a', 'web-b', 'web-c']);
      await r.forge.finishWorkflowRun(manual.id, 'completed', 'success');
      r.tick(30);
      assert.equal((await r.run()).status, 'converged');
      assert.equal(r.dispatches.length, 0);
    } finally {
      await r.stop();
    }
  });

  test('a deploy whose verify was cancelled is re-verified by a verify-only run, with backoff, until verify reports success', async () => {
    const r = await Replay.start();
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      const [push] = await r.forge.workflowRuns();
      // the retrain run deploys; its verify job sets pending, then the run is cancelled
      const deploy = await r.deploy(
        ['web-a', 'web-b', 'web-c'],
        'https://github.test/acme/fleet/actions/runs/77',
      );
      await r.forge.setCommitStatus(deploy.sha, {
        context: VERIFY_STATUS_CONTEXT,
        state: 'pending',
        description: 'verifying',
      });
      await r.forge.finishWorkflowRun(push!.id, 'in_progress');
      r.tick(60);
      assert.equal((await r.run()).status, 'running', 'verify may still be running');
      await r.forge.finishWorkflowRun(push!.id, 'completed', 'cancelled');

      // the next run dispatches a verify-only run for the deploy commit: never a retrain
      r.tick(60);
      const first = await r.run();
      assert.equal(first.status, 'unverified');
      assert.match(first.summary, /fleetcast\/verify pending: unverified deploy/);
      assert.ok(first.dispatched !== undefined, 'a verify-only run is dispatched');
      const verifyRun = (await r.forge.workflowRuns()).at(-1)!;
      assert.equal(verifyRun.event, 'workflow_dispatch');
      assert.equal(verifyRun.inputs.verify_commit, deploy.sha);
      assert.equal(verifyRun.inputs.verify_model_id, deploy.modelId);
      assert.equal(verifyRun.inputs.reconcile_attempt, first.dispatched.id);

      // that run is cancelled too: the loop waits for it, then backs off before the next try
      await r.forge.finishWorkflowRun(verifyRun.id, 'in_progress');
      r.tick(30);
      assert.equal((await r.run()).dispatched, undefined, 'never while a run is active');
      await r.forge.finishWorkflowRun(verifyRun.id, 'completed', 'cancelled');
      r.tick(30);
      const waiting = await r.run();
      assert.equal(waiting.status, 'unverified');
      assert.equal(waiting.dispatched, undefined, 'backoff: 120 minutes after the first try');
      assert.ok(waiting.notes.some((n) => n.includes('re-verifies')));
      const issue = (await r.forge.issues()).find((i) => i.labels.includes(RECONCILE_LABEL))!;
      assert.equal(issue.state, 'open');
      assert.match(issue.body, new RegExp(deploy.sha.slice(0, 12)));
      r.tick(120);
      const second = await r.run();
      assert.ok(second.dispatched !== undefined, 'the second verify-only run after the backoff');
      assert.equal(r.dispatches.length, 2);

      // this verify passes and says so on the commit: converged, the issue closes
      await r.forge.setCommitStatus(deploy.sha, {
        context: VERIFY_STATUS_CONTEXT,
        state: 'success',
        description: 'verified',
      });
      const secondRun = (await r.forge.workflowRuns()).at(-1)!;
      await r.forge.finishWorkflowRun(secondRun.id, 'completed', 'success');
      r.tick(60);
      const done = await r.run();
      assert.equal(done.status, 'converged');
      assert.equal(done.state.log.at(-1)!.outcome, 'succeeded');
      assert.equal((await r.forge.issues()).find((i) => i.number === issue.number)!.state, 'closed');
      assert.ok(
        (await r.forge.workflowRuns()).every(
          (run) => run.event !== 'workflow_dispatch' || run.inputs.verify_commit,
        ),
        'no retrain was dispatched for a model that covers the manifest',
      );
    } finally {
      await r.stop();
    }
  });

  test('a workflow deploy with no verify status at all is unverified; a deploy by hand is not waited for', async () => {
    const r = await Replay.start();
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      const [push] = await r.forge.workflowRuns();
      await r.deploy(['web-a', 'web-b', 'web-c'], 'https://github.test/acme/fleet/actions/runs/78');
      await r.forge.finishWorkflowRun(push!.id, 'completed', 'timed_out');
      r.tick(60);
      const o = await r.run();
      assert.equal(o.status, 'unverified');
      assert.match(o.summary, /has no fleetcast\/verify status/);
      await r.deploy(['web-a', 'web-b', 'web-c']); // `fleetcast deploy` by hand names no run
      r.tick(60);
      assert.equal((await r.run()).status, 'converged');
    } finally {
      await r.stop();
    }
  });

  test('dry run writes nothing and reports what it would do', async () => {
    const r = await Replay.start();
    try {
      await r.mergeDriftPr(['web-a', 'web-b', 'web-c']);
      await r.forge.finishWorkflowRun((await r.forge.workflowRuns())[0]!.id, 'completed', 'failure');
      r.tick(600);
      const o = await reconcile(r.forge, {
        base: 'main',
        manifestPath: MANIFEST,
        registryPath: 'models-registry',
        workflow: WORKFLOW,
        policy: r.policy,
        dryRun: true,
        now: r.now,
      });
      assert.equal(o.issue.operation, 'created');
      assert.equal(o.status, 'waiting', 'the first sight of the gap starts the initial wait');
      assert.deepEqual(await r.forge.issues(), []);
      assert.equal((await r.forge.workflowRuns()).length, 1);
    } finally {
      await r.stop();
    }
  });
});
