import * as core from '@actions/core';
import { notifySlack, type Notification } from '../../gitops/notify.js';

/** Sends a Slack notification when a webhook is configured; failures become warnings only. */
export async function notify(webhook: string | undefined, notification: Notification): Promise<void> {
  const sent = await notifySlack(webhook, notification, { fetch, warn: (m) => core.warning(m) });
  if (sent) core.info(`Slack notified (${notification.kind})`);
}
