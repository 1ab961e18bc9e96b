import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEvents } from '../../src/core/events-log.js';
import { trailer } from '../../src/gitops/trailers.js';
import { pointerPath } from '../../src/registry/layout.js';
import { deploy, readPointer } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { listen, type RunningServer } from '../../src/service/http/server.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import type { WindowFetcher } from '../../src/service/serving/window-cache.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { createGitFixture, git, localForgeInputs, type GitFixture } from '../helpers/git-fixture.js';
import { runAction } from '../helpers/action-runner.js';
import { run as liveCheckAction } from '../../src/actions/live-check.js';
import { makeTinyModels, tinyModelId } from '../helpers/tiny-model.js';
import { fleetOf, newService, recentEnd, syntheticWindows } from '../service/fixtures.js';

const servers = fleetOf(40);
const HOUR = 3600;

/** The registry's head commit on the bare remote: what a pull would bring. */
async function remoteHead(fixture: GitFixture): Promise<string> {
  return (await git(fixture.remote, 'log', '-1', '--format=%B', 'main')).trim();
}

describe('fleetcast candidate set / evaluate against a running service and a bare-repo registry', () => {
  let fixture: GitFixture;
  let work: string;
  let registry: string;
  let service: ForecastService;
  let server: RunningServer;
  let serving: string;
  let candidate: string;
  const clock = { end: recentEnd() - 48 * HOUR };
  const fetcher: WindowFetcher = async (shape) => ({
    windows: syntheticWindows(servers, shape, clock.end),
    newestData: new Date(clock.end * 1000),
  });
  const configs: Record<string, string> = {};

  before(async () => {
    fixture = await createGitFixture({ 'README.md': 'fleet\n' });
    work = await fixture.clone();
    registry = join(work, 'models-registry');
    serving = tinyModelId();
    candidate = tinyModelId();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: serving, servers, seed: 2, validation: { passed: true } },
      { modelId: candidate, servers, seed: 5, validation: { passed: true } },
    ]);
    await deploy(registry, serving, 'first deploy');
    await git(work, 'add', '-A');
    await git(work, 'commit', '-q', '-m', `deploy: ${serving}\n\nFleetcast-Model: ${serving}`);
    await git(work, 'push', '-q', 'origin', 'main');
    await mkdir(join(work, 'config'));
    const rule = (ratio: number) =>
      JSON.stringify({
        events_log: 'logs/events.json',
        candidate: { min_live_hours: 4, min_shared_points: 100, max_qrisk_ratio_vs_serving: ratio },
      });
    for (const [name, text] of Object.entries({
      strict: JSON.stringify({ events_log: 'logs/events.json' }), // the defaults: 24 h, 1000 points
      lenient: rule(10),
      harsh: rule(1e-6),
    })) {
      configs[name] = join(work, 'config', `${name}.json`);
      await writeFile(configs[name], text);
    }
    service = newService(registry, () => servers, { windowFetcher: fetcher, staleAfterMs: 365 * 86_400_000 });
    await service.start();
    server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await server.close();
    await fixture.cleanup();
  });

  const evaluate = (config: string, cwd = work) =>
    withCwd(cwd, () =>
      fleetcastInProcess([
        'candidate',
        'evaluate',
        '--service-url',
        server.url,
        '--registry',
        registry,
        '--config',
        configs[config]!,
        '--json',
      ]),
    );

  const setCandidate = (modelId: string, mode: string, ...more: string[]) =>
    fleetcastInProcess([
      'candidate',
      'set',
      '--registry',
      registry,
      '--model-id',
      modelId,
      '--mode',
      mode,
      ...more,
    ]);

  /** The service re-reads the pointer and runs one forecast cycle per window load. */
  async function advance(hours: number): Promise<void> {
    await service.reload('pointer');
    await service.candidate.settled();
    clock.end += hours * HOUR;
    await service.refresh();
  }

  it('refuses bad candidate options with exit 2, writing nothing', async () => {
    const before = await readFile(pointerPath(registry), 'utf8');
    for (const args of [
      ['--mode', 'canary'],
      ['--mode', 'ab'],
      ['--mode', 'ab', '--share', '1'],
      ['--mode', 'shadow', '--share', '0.2'],
    ]) {
      const run = await fleetcastInProcess([
        'candidate',
        'set',
        '--registry',
        registry,
        '--model-id',
        candidate,
        ...args,
      ]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
    assert.equal(await readFile(pointerPath(registry), 'utf8'), before);
  });

  it('waits (exit 0) while live data is short, saying how much is missing', async () => {
    const set = await setCandidate(candidate, 'shadow', '--json');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(JSON.parse(set.stdout).pointer.candidate.mode, 'shadow');
    await git(work, 'commit', '-q', '-am', `candidate: ${candidate} (shadow)`);
    await git(work, 'push', '-q', 'origin', 'main');
    await advance(0); // loads the candidate: its first cycle
    await advance(6); // six hours later: the first forecasts meet their actuals

    const run = await evaluate('strict');
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.decision, 'wait');
    assert.equal(out.comparison.sharedPoints, servers.length * 5);
    assert.deepEqual(out.missing, { live_hours: 18, shared_points: 1000 - servers.length * 5 });
    assert.equal(out.commit_sha, null);
    assert.match(await remoteHead(fixture), /^candidate: /, 'no commit on a wait');
  });

  it('promotes by a deploy commit with the numbers as trailers, pushed to the remote', async () => {
    const run = await evaluate('lenient');
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.decision, 'promote', run.stdout);
    assert.equal(out.model_id, candidate);
    const message = await remoteHead(fixture);
    assert.match(message, new RegExp(`^deploy: ${candidate} `));
    assert.equal(trailer(message, 'Fleetcast-Model'), candidate);
    assert.equal(trailer(message, 'Fleetcast-Previous-Model'), serving);
    assert.equal(trailer(message, 'Fleetcast-Candidate-Decision'), 'promote');
    assert.equal(trailer(message, 'Fleetcast-Shared-Points'), String(servers.length * 5));
    assert.match(trailer(message, 'Fleetcast-QRisk-P50')!, /^candidate [\d.]+ serving [\d.]+ ratio [\d.]+$/);
    const pointer = await readPointer(registry);
    assert.equal(pointer?.model_id, candidate);
    assert.equal(pointer?.candidate, undefined);
    const events = parseEvents(await readFile(join(work, 'logs/events.json'), 'utf8'), 'events');
    const promoted = events.filter((e) => e.event === 'candidate_evaluated').map((e) => e.data.decision);
    assert.deepEqual(promoted, ['wait', 'promote']);
    await service.reload('pointer');
    assert.equal(service.model?.id, candidate, 'the service follows the promotion');
  });

  it('rolls a worse candidate back by a pointer commit (exit 3); the serving model stays', async () => {
    // the previous model comes back as a candidate; the harsh rule finds it worse than serving
    const set = await setCandidate(serving, 'ab', '--share', '0.25');
    assert.equal(set.code, 0, set.stderr);
    await git(work, 'commit', '-q', '-am', `candidate: ${serving} (ab 0.25)`);
    await git(work, 'push', '-q', 'origin', 'main');
    await advance(0);
    await advance(6);
    const run = await evaluate('harsh');
    assert.equal(run.code, 3, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.decision, 'rollback');
    assert.equal(out.model_id, candidate);
    const message = await remoteHead(fixture);
    assert.match(message, new RegExp(`^candidate rollback: ${serving} \\(${candidate} keeps serving\\)`));
    assert.equal(trailer(message, 'Fleetcast-Candidate-Rolled-Back'), serving);
    assert.match(message, /Reason: P50 q-risk .* \(ratio [\d.]+, limit 0\.000\)/);
    const pointer = await readPointer(registry);
    assert.equal(pointer?.model_id, candidate);
    assert.equal(pointer?.candidate, undefined);
    await service.reload('pointer');
    await service.candidate.settled();
    assert.equal(service.candidate.status(), null, 'the service drops the candidate');
  });

  it('the workflow way: the live-check action evaluates the candidate and lands the promotion through the forge', async () => {
    // a third model: the earlier ones were promoted or rolled back already
    const third = tinyModelId();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: third, servers, seed: 7, validation: { passed: true } },
    ]);
    const set = await setCandidate(third, 'shadow');
    assert.equal(set.code, 0, set.stderr);
    await git(work, 'add', '-A', 'models-registry');
    await git(work, 'commit', '-q', '-m', `candidate: ${third} (shadow)`);
    await git(work, 'push', '-q', 'origin', 'main');
    await advance(0);
    await advance(6);
    const workspace = await fixture.clone();
    await mkdir(join(workspace, 'config'), { recursive: true });
    await writeFile(
      join(workspace, 'config', 'rules.json'),
      JSON.stringify({
        events_log: 'logs/events.json',
        candidate: { min_live_hours: 4, min_shared_points: 100, max_qrisk_ratio_vs_serving: 10 },
        // the serving model is kept: this test is about the candidate
        live_regression: { min_scored_points: 1_000_000_000 },
      }),
    );
    const result = await runAction(liveCheckAction, {
      action: 'live-check',
      workspace,
      inputs: { service_url: server.url, config: 'config/rules.json', ...localForgeInputs(fixture) },
    });
    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.outputs.action, 'keep');
    assert.equal(result.outputs.candidate_decision, 'promote', result.stdout);
    assert.match(result.outputs.candidate_commit_sha!, /^[0-9a-f]{40}$/);
    assert.equal(
      (await git(fixture.remote, 'rev-parse', 'main')).trim(),
      result.outputs.candidate_commit_sha,
    );
    const message = await remoteHead(fixture);
    assert.match(message, new RegExp(`^deploy: ${third} `));
    assert.equal(trailer(message, 'Fleetcast-Candidate-Decision'), 'promote');
    assert.match(result.summary, new RegExp(`candidate ${third}: promote`));
    const promoted = JSON.parse((await fixture.store.readFile('main', 'models-registry/current.json'))!) as {
      model_id: string;
      candidate?: unknown;
    };
    assert.deepEqual([promoted.model_id, promoted.candidate], [third, undefined]);
  });
});

async function withCwd<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const old = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(old);
  }
}
