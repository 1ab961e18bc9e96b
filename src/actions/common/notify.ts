import * as core from '@actions/core';
import { notifySlack, type Notification } from '../../gitops/notify.js';
import { getErrorMessage } from '../../core/errors.js';

/** Sends a Slack notification when a webhook is configured; failures become warnings only. */
export async function notify(webhook: string | undefined, notification: Notification): Promise<void> {
  const sent = await notifySlack(webhook, notification, { fetch, warn: (m) => core.warning(m) });
  if (sent) core.info(`Slack notified (${notification.kind})`);
}

/**
 * The end of every action's `run()` on an error: a Slack failure notice (its first line; the full
 * message is in the log) unless `notifySlack` is false, then `core.setFailed`.
 */
export async function failAction(
  error: unknown,
  webhook: string | undefined,
  title: string,
  options: { notifySlack?: boolean } = {},
): Promise<void> {
  const message = getErrorMessage(error);
  if (options.notifySlack ?? true)
    await notify(webhook, { kind: 'failure', title, lines: [message.split('\n')[0]!] });
  core.setFailed(message);
}
