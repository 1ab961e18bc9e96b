import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { statusPolicyProblem, type StatusPolicy } from '../fleet/status.js';
import type { EligibilityPolicy } from '../fleet/eligibility.js';

/**
 * The retrain policy (the seed's config/retrain_config.json). Every key is optional and defaults
 * to the seed's value; unknown keys are rejected so a typo cannot silently fall back to a default.
 *
 * The seed's `notification_webhook` held a URL in the committed file. A webhook URL is a secret,
 * so here the file names the environment variable that holds it (`notification_webhook_env`).
 */
export const DEFAULT_CONFIG_PATH = 'config/retrain_config.json';
export const DEFAULT_WEBHOOK_ENV = 'FLEETCAST_NOTIFICATION_WEBHOOK';

const Pct = z.number().min(0).max(10_000);
const PositiveDays = z.number().positive().max(3650);

export const RetrainConfig = z
  .strictObject({
    /** Model registry directory holding current.json (the seed's models/latest symlink). */
    current_model_dir: z.string().min(1).default('models-registry'),
    /** Drift % where priority becomes low (inclusive). */
    low_drift_threshold: Pct.default(10),
    /** Drift % where priority becomes medium (inclusive): the seed's WARNING. */
    warning_drift_threshold: Pct.default(20),
    /** Drift % above which priority is high (35 % itself is medium, as in the seed's example). */
    critical_drift_threshold: Pct.default(35),
    offline_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
    sunset_candidate_days: PositiveDays.default(7),
    /** Days of silence after which a server is sunset-confirmed and leaves the fleet. */
    sunset_days_threshold: PositiveDays.default(30),
    minimum_history_days: z.number().min(0).max(3650).default(7),
    minimum_samples: z.number().int().min(1).default(1000),
    unknown_rate_warning_pct: z.number().min(0).max(100).default(5),
    unknown_rate_critical_pct: z.number().min(0).max(100).default(15),
    /** A model older than this while the fleet changed is stale. */
    max_model_age_days: PositiveDays.default(30),
    retraining_epochs: z.number().int().positive().max(100_000).default(20),
    validation_required: z.boolean().default(true),
    hot_swap_enabled: z.boolean().default(true),
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
    /** JSON-lines events log (the seed's logs/retraining_events.json). */
    events_log: z.string().min(1).default('logs/retraining_events.json'),
  })
  .superRefine((config, ctx) => {
    if (!(config.low_drift_threshold <= config.warning_drift_threshold))
      ctx.addIssue({
        code: 'custom',
        path: ['low_drift_threshold'],
        message: `must be ≤ warning_drift_threshold (${config.warning_drift_threshold})`,
      });
    if (!(config.warning_drift_threshold <= config.critical_drift_threshold))
      ctx.addIssue({
        code: 'custom',
        path: ['warning_drift_threshold'],
        message: `must be ≤ critical_drift_threshold (${config.critical_drift_threshold})`,
      });
    if (!(config.unknown_rate_warning_pct <= config.unknown_rate_critical_pct))
      ctx.addIssue({
        code: 'custom',
        path: ['unknown_rate_warning_pct'],
        message: `must be ≤ unknown_rate_critical_pct (${config.unknown_rate_critical_pct})`,
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
  const lines = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys')
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (not a retrain policy setting)`;
    return `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`;
  });
  throw new InputError(lines.join('\n'));
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
    sunsetConfirmedDays: config.sunset_days_threshold,
  };
}

export function eligibilityPolicyOf(config: RetrainConfig): EligibilityPolicy {
  return { minimumHistoryDays: config.minimum_history_days, minimumSamples: config.minimum_samples };
}

/** The notification webhook from the environment variable the config names (undefined if unset). */
export function notificationWebhook(
  config: RetrainConfig,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[config.notification_webhook_env];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
