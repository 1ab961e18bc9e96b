import { z } from 'zod';
import type { ServiceAccess } from '../../gitops/live-record.js';

/**
 * The inference service an action reads (health, live accuracy) and the Slack webhook it reports
 * to: the same three inputs, meanings and masking in every action that has them.
 */
export const SERVICE_INPUTS = ['service_url', 'service_token', 'slack_webhook'] as const;

/** Inputs masked in the log and never echoed: the service's bearer token, the webhook, the forge token. */
export const ACTION_SECRETS = ['service_token', 'slack_webhook', 'token'] as const;

export const ServiceSettings = z.object({
  /** The inference service's base URL; optional where the action can do without it. */
  service_url: z.url().optional(),
  /** Bearer token for the service's routes that need one. */
  service_token: z.string().optional(),
  slack_webhook: z.url().optional(),
});

/**
 * The service as src/gitops reads it; no token key when none was given. The URL keeps its type, so
 * an action whose schema requires it hands on a `serviceUrl: string`.
 */
export function serviceAccess<Url extends string | undefined>(
  url: Url,
  token: string | undefined,
): ServiceAccess & { serviceUrl: Url } {
  return { serviceUrl: url, ...(token ? { token } : {}) };
}
