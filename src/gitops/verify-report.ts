import { getErrorMessage } from '../core/errors.js';
import type { Forge } from '../forge/types.js';

/** The commit status context verify sets on the deploy commit (the reconcile loop reads it). */
export const VERIFY_STATUS_CONTEXT = 'fleetcast/verify';

/** The GitHub environment the deployments are recorded in, unless the action says otherwise. */
export const DEFAULT_ENVIRONMENT = 'fleet-forecast';

export interface VerifyReportTarget {
  /** The deploy commit. */
  sha: string;
  modelId: string;
  environment: string;
  /** The service as people reach it (the environment's URL). */
  environmentUrl: string;
  /** The workflow run doing the verify. */
  runUrl: string | undefined;
  /** Where a report that could not be written is said (a warning: the verify result stands). */
  warn: (message: string) => void;
}

export interface VerifyReport {
  /** Reports the outcome on the commit status and the deployment. */
  finish(ok: boolean, description: string): Promise<void>;
}

/**
 * Where people look: a `fleetcast/verify` commit status on the deploy commit (pending, then
 * success or failure, linked to the run) and a GitHub Deployment of that commit to `environment`
 * (in_progress, then success, or failure when verify reverts). A report that cannot be written
 * (a token without `statuses: write`) is a warning; the deploy then reads as unverified to the
 * reconcile loop, which says so, and never as verified.
 */
export async function startVerifyReport(forge: Forge, target: VerifyReportTarget): Promise<VerifyReport> {
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      target.warn(`could not ${what} (${getErrorMessage(error)}); the verify result stands`);
    }
  };
  const link = target.runUrl === undefined ? {} : { targetUrl: target.runUrl };
  await attempt(`set the ${VERIFY_STATUS_CONTEXT} status`, () =>
    forge.setCommitStatus(target.sha, {
      context: VERIFY_STATUS_CONTEXT,
      state: 'pending',
      description: `verifying ${target.modelId}`,
      ...link,
    }),
  );
  let deployment: number | undefined;
  await attempt(`record the deployment to ${target.environment}`, async () => {
    deployment = await forge.createDeployment({
      sha: target.sha,
      environment: target.environment,
      description: `${target.modelId}`,
    });
    await forge.setDeploymentStatus(deployment, {
      state: 'in_progress',
      description: `verifying ${target.modelId}`,
      environmentUrl: target.environmentUrl,
      ...(target.runUrl === undefined ? {} : { logUrl: target.runUrl }),
    });
  });
  return {
    async finish(ok, description) {
      await attempt(`set the ${VERIFY_STATUS_CONTEXT} status`, () =>
        forge.setCommitStatus(target.sha, {
          context: VERIFY_STATUS_CONTEXT,
          state: ok ? 'success' : 'failure',
          description,
          ...link,
        }),
      );
      if (deployment === undefined) return;
      const id = deployment;
      await attempt(`mark the deployment ${ok ? 'successful' : 'failed'}`, () =>
        forge.setDeploymentStatus(id, {
          state: ok ? 'success' : 'failure',
          description,
          environmentUrl: target.environmentUrl,
          ...(target.runUrl === undefined ? {} : { logUrl: target.runUrl }),
        }),
      );
    },
  };
}
