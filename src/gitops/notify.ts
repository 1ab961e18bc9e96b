/** Optional Slack incoming-webhook notifications; a failed notification never fails the pipeline. */

export type NotifyKind = 'trigger' | 'deploy' | 'rollback' | 'failure';

export interface Notification {
  kind: NotifyKind;
  title: string;
  lines: string[];
  url?: string;
}

const ICON: Record<NotifyKind, string> = {
  trigger: ':mag:',
  deploy: ':rocket:',
  rollback: ':rewind:',
  failure: ':x:',
};

/** Slack's mrkdwn needs only &, < and > escaped. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(n: Notification): { text: string } {
  const head = `${ICON[n.kind]} *${escapeSlack(n.title)}*`;
  const link = n.url === undefined ? [] : [`<${n.url.replace(/[<>|]/g, '')}|workflow run>`];
  return { text: [head, ...n.lines.map(escapeSlack), ...link].join('\n') };
}

export interface NotifyDeps {
  fetch: typeof fetch;
  /** Receives a description of a failure; never the webhook URL. */
  warn: (message: string) => void;
}

/** Posts to the webhook when one is configured; returns whether Slack accepted it. */
export async function notifySlack(
  webhook: string | undefined,
  n: Notification,
  deps: NotifyDeps,
): Promise<boolean> {
  if (webhook === undefined || webhook === '') return false;
  try {
    const response = await deps.fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slackPayload(n)),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      deps.warn(`Slack notification (${n.kind}) was refused with HTTP ${response.status}`);
      return false;
    }
    return true;
  } catch (error) {
    // The error message of fetch can contain the URL: report only its kind.
    const kind = error instanceof Error ? error.name : 'error';
    deps.warn(`Slack notification (${n.kind}) failed (${kind}); the pipeline continues`);
    return false;
  }
}
