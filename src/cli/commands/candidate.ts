import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { candidatePolicyOf, loadRetrainConfig } from '../../config/retrain-config.js';
import { ExitCode, InputError, getErrorMessage } from '../../core/errors.js';
import { EventLog } from '../../core/events-log.js';
import { printJson } from '../../core/json-output.js';
import { GitWorkspace } from '../../forge/git-workspace.js';
import { evaluateCandidate } from '../../gitops/candidate-evaluate.js';
import { readCandidateComparison } from '../../gitops/candidate-status.js';
import { clearCandidate, setCandidate } from '../../registry/pointer.js';
import { EXIT_CODES_HELP } from '../fleet-options.js';

const exec = promisify(execFile);

interface SetOptions {
  registry: string;
  modelId: string;
  mode: string;
  share?: string;
  json?: boolean;
}

interface EvaluateOptions {
  serviceUrl: string;
  registry: string;
  config?: string;
  branch: string;
  push: boolean;
  events?: string | false;
  botName: string;
  botEmail: string;
  requestedBy: string;
  timeoutSeconds: string;
  json?: boolean;
}

export function register(program: Command): void {
  const candidate = program
    .command('candidate')
    .description(
      'Evaluate a candidate model beside the serving one: shadow or A/B, then promote or roll back',
    );

  candidate
    .command('set')
    .exitOverride()
    .description(
      "Name a candidate in the registry's current.json (the service loads it beside the serving model)",
    )
    .option(
      '--registry <dir>',
      'model registry directory (holds current.json and models/)',
      'models-registry',
    )
    .requiredOption('--model-id <id>', 'the candidate, a directory under <registry>/models/')
    .requiredOption('--mode <mode>', 'shadow (forecasts, never serves) or ab (serves --share of the servers)')
    .option('--share <fraction>', 'ab: share of servers the candidate serves, 0 < share < 1')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: SetOptions) => {
      if (options.mode !== 'shadow' && options.mode !== 'ab')
        throw new InputError(`--mode: must be shadow or ab, not ${JSON.stringify(options.mode)}`);
      let share: number | undefined;
      if (options.share !== undefined) {
        share = Number(options.share);
        if (options.mode !== 'ab') throw new InputError('--share applies to --mode ab only');
        if (!(share > 0 && share < 1))
          throw new InputError(`--share: must be between 0 and 1 (exclusive), not ${options.share}`);
      }
      if (options.mode === 'ab' && share === undefined) throw new InputError('--mode ab needs --share');
      const change = await setCandidate(options.registry, {
        modelId: options.modelId,
        mode: options.mode,
        ...(share === undefined ? {} : { share }),
      });
      if (options.json) {
        printJson({ changed: change.changed, pointer: change.pointer });
        return;
      }
      const c = change.pointer.candidate!;
      process.stdout.write(
        change.changed
          ? `candidate ${c.model_id} (${c.mode}${c.share === undefined ? '' : `, share ${c.share}`}) beside ${change.pointer.model_id}; commit current.json to roll it out\n`
          : `candidate ${c.model_id} is already set this way; pointer unchanged\n`,
      );
    });

  candidate
    .command('clear')
    .exitOverride()
    .description("Remove the candidate from the registry's current.json (the serving model is unchanged)")
    .option('--registry <dir>', 'model registry directory', 'models-registry')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: { registry: string; json?: boolean }) => {
      const change = await clearCandidate(options.registry);
      if (options.json) {
        printJson({ changed: change.changed, pointer: change.pointer });
        return;
      }
      process.stdout.write(
        change.changed
          ? `candidate ${change.before?.candidate?.model_id} removed; ${change.pointer.model_id} keeps serving\n`
          : 'no candidate; pointer unchanged\n',
      );
    });

  candidate
    .command('evaluate')
    .exitOverride()
    .description(
      "Read the service's live comparison and wait, promote (a deploy commit) or roll back (a pointer commit)",
    )
    .requiredOption('--service-url <url>', 'the inference service (its GET /status)')
    .option('--registry <dir>', 'model registry directory inside the git work tree', 'models-registry')
    .option(
      '--config <file>',
      'retrain policy (default: config/retrain_config.json if present, else built-in)',
    )
    .option('--branch <name>', 'branch to push the commit to', 'main')
    .option('--no-push', 'commit locally only')
    .option('--events <file>', 'events log to append to (default: events_log from the config)')
    .option('--no-events', 'do not append to the events log')
    .option('--bot-name <name>', 'author of the commit', 'fleetcast[bot]')
    .option('--bot-email <email>', 'author email of the commit', 'fleetcast-bot@users.noreply.github.com')
    .option('--requested-by <who>', "the commit's Requested-by", 'fleetcast candidate evaluate')
    .option('--timeout-seconds <s>', 'HTTP timeout for /status', '30')
    .option('--json', 'print the decision as JSON')
    .addHelpText(
      'after',
      `
The rule is the config's candidate block (min_live_hours, min_shared_points,
max_qrisk_ratio_vs_serving), applied to the P50 and P90 q-risk of both models on the same points
(docs/candidate.md). FLEETCAST_SERVICE_TOKEN, when set, is sent as a bearer token.
${EXIT_CODES_HELP}
  0  wait (not enough live data; says how much is missing) or promote
  3  the candidate was rolled back (worse than the serving model, or not comparable)`,
    )
    .action(async (options: EvaluateOptions) => {
      const { config } = await loadRetrainConfig(options.config);
      const registry = resolve(options.registry);
      const repoDir = await workTreeOf(registry);
      const token = process.env.FLEETCAST_SERVICE_TOKEN?.trim();
      const comparison = await readCandidateComparison({
        serviceUrl: options.serviceUrl,
        timeoutMs: Number(options.timeoutSeconds) * 1000,
        ...(token ? { token } : {}),
      });
      const result = await evaluateCandidate({
        git: await GitWorkspace.create(repoDir),
        repoDir,
        registry,
        comparison,
        policy: candidatePolicyOf(config),
        bot: { name: options.botName, email: options.botEmail },
        requestedBy: options.requestedBy,
        branch: options.branch,
        push: options.push,
        events: options.events === false ? null : new EventLog(options.events ?? config.events_log),
      });
      if (options.json) printJson(result);
      else {
        const lines = [
          `${result.decision}: ${result.summary}`,
          ...result.reasons.map((r) => `  ${r}`),
          ...(result.commit_sha === null ? [] : [`  commit ${result.commit_sha}`]),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (result.decision === 'rollback') process.exitCode = ExitCode.gateFailed;
    });
}

async function workTreeOf(dir: string): Promise<string> {
  try {
    const { stdout } = await exec('git', ['rev-parse', '--show-toplevel'], { cwd: dir });
    return stdout.trim();
  } catch (error) {
    throw new InputError(`${dir}: not inside a git work tree (${getErrorMessage(error).split('\n')[0]})`);
  }
}
