import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { isAbsolute, posix, win32 } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { statusPolicyProblem, type StatusPolicy } from '../fleet/status.js';
import type { EligibilityPolicy } from '../fleet/eligibility.js';

/**
 * The retrain policy (config/retrain_config.json). Every key is optional and has a default;
 * unknown keys are rejected so a typo cannot silently fall back to a default.
 *
 * Each threshold key is the name the drift report (`thresholds`) and the drift pull request body
 * show for it, so one idea has one name from the config file to the PR. Keys that were renamed or
 * removed get an error that says what to use instead (RENAMED_KEYS, REMOVED_KEYS).
 *
 * A webhook URL is a secret, so the file names the environment variable that holds it
 * (`notification_webhook_env`); a `notification_webhook` key with a URL is rejected.
 */
export const DEFAULT_CONFIG_PATH = 'config/retrain_config.json';
export const DEFAULT_WEBHOOK_ENV = 'FLEETCAST_NOTIFICATION_WEBHOOK';

/** Old key → the key that replaced it. The old name is an error naming the new one. */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  low_drift_threshold: 'low_drift_pct',
  warning_drift_threshold: 'medium_drift_pct',
  critical_drift_threshold: 'high_drift_above_pct',
  unknown_rate_warning_pct: 'unknown_warning_pct',
  unknown_rate_critical_pct: 'unknown_critical_above_pct',
  sunset_days_threshold: 'sunset_confirmed_days',
};

/** Keys that were read by nothing and were removed → where that choice is made instead. */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  current_model_dir:
    "each command takes the registry itself (--registry, or the actions' registry input; default models-registry)",
  retraining_epochs:
    "the epoch budget comes from the training profile (trainer/profiles.json); override it with fleetcast train --epochs or the train action's epochs input",
  validation_required:
    'validation is chosen per run: the train action always validates, fleetcast train does unless given --no-validate',
  hot_swap_enabled: 'the service always hot-swaps when current.json changes',
};

/**
 * Why `path` is not a path inside the repository (undefined when it is). Paths in the config are
 * resolved against the repository (workspace) root, the working directory of every command and
 * action, so a committed config cannot make fleetcast write anywhere else. Lexical: a symlink
 * inside the repository is the operator's choice.
 */
export function repoPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain a NUL character';
  if (isAbsolute(path) || win32.isAbsolute(path) || path.startsWith('~'))
    return `must be relative to the repository root, not ${JSON.stringify(path)}`;
  const normal = posix.normalize(path.replaceAll('\\', '/'));
  if (normal === '..' || normal.startsWith('../'))
    return `must stay inside the repository: ${JSON.stringify(path)} leads outside it`;
  if (normal === '.' || normal === './') return 'must name a file inside the repository, not its root';
  return undefined;
}

/** A file path relative to the repository root that stays inside it (repoPathProblem). */
const RepoPath = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    const problem = repoPathProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const Pct = z.number().min(0).max(10_000);

/**
 * Automatic rollback on live regression (`fleetcast live-check`, docs/gitops.md): the serving
 * model's live q-risk against the previous model's recorded one and against seasonal naive on the
 * same points, once it has been scored for long enough.
 */
export const LiveRegressionConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Revert when live q-risk (P50 or P90) exceeds the previous model's recorded one by this factor. */
  max_ratio_vs_previous: z.number().min(1).max(100).default(1.25),
  /** Revert when the model's loss exceeds seasonal naive's on the same points by this factor. */
  max_ratio_vs_naive: z.number().positive().max(100).default(1.1),
  /** Hours of scored live data (within the service's live window, 24 h by default) before judging. */
  min_live_hours: z.number().min(0).max(8760).default(6),
  min_scored_points: z.number().int().min(1).default(100),
});
export type LiveRegressionConfig = z.infer<typeof LiveRegressionConfig>;
const PositiveDays = z.number().positive().max(3650);

/** When a candidate has enough live data to decide, and how much worse than serving it may be. */
const CandidateRule = z.strictObject({
  /** Hours of live data (first shared forecast to newest actual) before a decision. */
  min_live_hours: z
    .number()
    .positive()
    .max(24 * 90)
    .default(24),
  /** Forecast steps scored for both models on the same servers and times before a decision. */
  min_shared_points: z.number().int().min(1).default(1000),
  /** Candidate q-risk ÷ serving q-risk (P50 and P90 each) at or under this promotes; above rolls back. */
  max_qrisk_ratio_vs_serving: z.number().positive().max(10).default(1.0),
});

export const RetrainConfig = z
  .strictObject({
    /** Drift % where priority becomes low (inclusive). */
    low_drift_pct: Pct.default(10),
    /** Drift % where priority becomes medium (inclusive). */
    medium_drift_pct: Pct.default(20),
    /** Drift % above which priority is high (35 % itself is medium). */
    high_drift_above_pct: Pct.default(35),
    offline_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
    sunset_candidate_days: PositiveDays.default(7),
    /** Days of silence after which a server is sunset-confirmed and leaves the fleet. */
    sunset_confirmed_days: PositiveDays.default(30),
    minimum_history_days: z.number().min(0).max(3650).default(7),
    minimum_samples: z.number().int().min(1).default(1000),
    /** Unknown-prediction rate % where the level becomes warning (inclusive). */
    unknown_warning_pct: z.number().min(0).max(100).default(5),
    /** Unknown-prediction rate % above which the level is critical. */
    unknown_critical_above_pct: z.number().min(0).max(100).default(15),
    /** A model older than this while the fleet changed is stale. */
    max_model_age_days: PositiveDays.default(30),
    notification_webhook_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name like FLEETCAST_NOTIFICATION_WEBHOOK')
      .default(DEFAULT_WEBHOOK_ENV),
    notification_webhook: z
      .unknown()
      .optional()
      .refine((value) => value === undefined, {
        message:
          'a webhook URL is a secret and must not be committed; put it in an environment variable ' +
          'and name that variable in notification_webhook_env (default FLEETCAST_NOTIFICATION_WEBHOOK)',
      }),
    /** JSON-lines events log, relative to the repository root and inside it. */
    events_log: RepoPath.default('logs/retraining_events.json'),
    /**
     * Reconcile loop (docs/gitops.md): the wait before the first retrain it dispatches for a
     * manifest the deployed model does not cover (the merge's own retrain runs meanwhile), doubled
     * after every attempt up to `reconcile_backoff_max_minutes`.
     */
    reconcile_backoff_initial_minutes: z.number().positive().max(10_080).default(60),
    reconcile_backoff_max_minutes: z.number().positive().max(43_200).default(1440),
    /** Retrains the reconcile loop dispatches for one manifest before it stops and says so. */
    reconcile_max_attempts: z.number().int().min(0).max(100).default(5),
    /** Workflow file the reconcile loop dispatches (workflow_dispatch). */
    reconcile_workflow: z
      .string()
      .regex(/^[A-Za-z0-9._-]+\.ya?ml$/, 'must be a workflow file name like retrain.yml')
      .default('retrain.yml'),
    /** The promotion rule of `fleetcast candidate evaluate` (docs/candidate.md). */
    candidate: CandidateRule.default(CandidateRule.parse({})),
    live_regression: LiveRegressionConfig.prefault({}),
  })
  .superRefine((config, ctx) => {
    if (!(config.low_drift_pct <= config.medium_drift_pct))
      ctx.addIssue({
        code: 'custom',
        path: ['low_drift_pct'],
        message: `must be ≤ medium_drift_pct (${config.medium_drift_pct})`,
      });
    if (!(config.medium_drift_pct <= config.high_drift_above_pct))
      ctx.addIssue({
        code: 'custom',
        path: ['medium_drift_pct'],
        message: `must be ≤ high_drift_above_pct (${config.high_drift_above_pct})`,
      });
    if (!(config.unknown_warning_pct <= config.unknown_critical_above_pct))
      ctx.addIssue({
        code: 'custom',
        path: ['unknown_warning_pct'],
        message: `must be ≤ unknown_critical_above_pct (${config.unknown_critical_above_pct})`,
      });
    if (!(config.reconcile_backoff_initial_minutes <= config.reconcile_backoff_max_minutes))
      ctx.addIssue({
        code: 'custom',
        path: ['reconcile_backoff_initial_minutes'],
        message: `must be ≤ reconcile_backoff_max_minutes (${config.reconcile_backoff_max_minutes})`,
      });
    const statusProblem = statusPolicyProblem(statusPolicyOf(config));
    if (statusProblem)
      ctx.addIssue({ code: 'custom', path: [statusProblem.split(' ')[0]!], message: statusProblem });
  });
export type RetrainConfig = z.infer<typeof RetrainConfig>;

export const DEFAULT_RETRAIN_CONFIG: RetrainConfig = RetrainConfig.parse({});

export interface LoadedConfig {
  config: RetrainConfig;
  /** The file it came from, or 'defaults'. */
  source: string;
}

/** Validates a parsed config object; errors name the file and every bad field. */
export function parseRetrainConfig(value: unknown, where: string): RetrainConfig {
  const result = RetrainConfig.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return unrecognizedKeyLines(issue.keys, where);
    return [`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`];
  });
  throw new InputError(lines.join('\n'));
}

/** One line per renamed or removed key (saying what to use instead), one for the rest. */
function unrecognizedKeyLines(keys: readonly string[], where: string): string[] {
  const lines: string[] = [];
  const unknown: string[] = [];
  for (const key of keys) {
    const renamed = Object.hasOwn(RENAMED_KEYS, key) ? RENAMED_KEYS[key] : undefined;
    const removed = Object.hasOwn(REMOVED_KEYS, key) ? REMOVED_KEYS[key] : undefined;
    if (renamed !== undefined) lines.push(`${where}: '${key}' was renamed to '${renamed}'`);
    else if (removed !== undefined) lines.push(`${where}: '${key}' is no longer supported: ${removed}`);
    else unknown.push(key);
  }
  if (unknown.length > 0)
    lines.push(
      `${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (not a retrain policy setting)`,
    );
  return lines;
}

/**
 * Loads `path`; without a path, config/retrain_config.json when it exists in `cwd`, else the
 * defaults.
 */
export async function loadRetrainConfig(path?: string, cwd = process.cwd()): Promise<LoadedConfig> {
  const file =
    path ?? (existsSync(`${cwd}/${DEFAULT_CONFIG_PATH}`) ? `${cwd}/${DEFAULT_CONFIG_PATH}` : undefined);
  if (file === undefined) return { config: DEFAULT_RETRAIN_CONFIG, source: 'defaults' };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      `${file}: cannot read config (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { config: parseRetrainConfig(json, file), source: file };
}

export function statusPolicyOf(config: RetrainConfig): StatusPolicy {
  return {
    offlineHours: config.offline_hours,
    sunsetCandidateDays: config.sunset_candidate_days,
    sunsetConfirmedDays: config.sunset_confirmed_days,
  };
}

export function eligibilityPolicyOf(config: RetrainConfig): EligibilityPolicy {
  return { minimumHistoryDays: config.minimum_history_days, minimumSamples: config.minimum_samples };
}

/** The reconcile loop's retry policy. */
export interface ReconcilePolicy {
  backoffInitialMinutes: number;
  backoffMaxMinutes: number;
  maxAttempts: number;
  workflow: string;
}

export function reconcilePolicyOf(config: RetrainConfig): ReconcilePolicy {
  return {
    backoffInitialMinutes: config.reconcile_backoff_initial_minutes,
    backoffMaxMinutes: config.reconcile_backoff_max_minutes,
    maxAttempts: config.reconcile_max_attempts,
    workflow: config.reconcile_workflow,
  };
}

/** The live regression rule's policy (src/gitops/live-regression.ts). */
export function liveRegressionPolicyOf(config: RetrainConfig) {
  const l = config.live_regression;
  return {
    enabled: l.enabled,
    maxRatioVsPrevious: l.max_ratio_vs_previous,
    maxRatioVsNaive: l.max_ratio_vs_naive,
    minLiveHours: l.min_live_hours,
    minScoredPoints: l.min_scored_points,
  };
}

/** The notification webhook from the environment variable the config names (undefined if unset). */
export function notificationWebhook(
  config: RetrainConfig,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[config.notification_webhook_env];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The candidate promotion rule (`candidate` block). */
export interface CandidatePolicy {
  minLiveHours: number;
  minSharedPoints: number;
  maxQRiskRatioVsServing: number;
}

export function candidatePolicyOf(config: RetrainConfig): CandidatePolicy {
  return {
    minLiveHours: config.candidate.min_live_hours,
    minSharedPoints: config.candidate.min_shared_points,
    maxQRiskRatioVsServing: config.candidate.max_qrisk_ratio_vs_serving,
  };
}
