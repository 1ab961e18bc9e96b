import { loadRetrainConfig, reconcilePolicyOf } from '../config/retrain-config.js';
import type { Forge } from '../forge/types.js';
import { reconcile, type ReconcileOutcome } from './reconcile.js';

export interface ReconcileRunSettings {
  base: string;
  manifestPath: string;
  registryPath: string;
  /** Retrain policy file; config/retrain_config.json in the working directory when it exists. */
  config?: string | undefined;
  serviceUrl?: string | undefined;
  serviceToken?: string | undefined;
  dryRun: boolean;
  now?: Date;
}

/**
 * The reconcile step with its policy loaded: what the scheduled drift job (after the drift pull
 * request), `fleetcast reconcile` and the tests all run.
 */
export async function runReconcile(forge: Forge, settings: ReconcileRunSettings): Promise<ReconcileOutcome> {
  const { config } = await loadRetrainConfig(settings.config);
  const policy = reconcilePolicyOf(config);
  return reconcile(forge, {
    base: settings.base,
    manifestPath: settings.manifestPath,
    registryPath: settings.registryPath,
    workflow: policy.workflow,
    serviceUrl: settings.serviceUrl,
    serviceToken: settings.serviceToken,
    policy,
    dryRun: settings.dryRun,
    now: settings.now ?? new Date(),
  });
}

/** One line for logs and summaries. */
export function describeReconcile(outcome: ReconcileOutcome): string {
  const issue =
    outcome.issue.number === undefined
      ? outcome.issue.operation
      : `${outcome.issue.operation} #${outcome.issue.number}`;
  return `reconcile: ${outcome.status} — ${outcome.summary} (tracking issue ${issue})`;
}
