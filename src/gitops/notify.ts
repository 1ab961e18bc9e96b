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

/** A Slack mrkdwn section holds at most 3,000 characters. */
const SECTION_LIMIT = 3000;

export interface SlackPayload {
  /** The plain fallback: notifications and clients without blocks show it. */
  text: string;
  /** Block Kit: a header, the lines as one section, and a link button to the run or PR. */
  blocks: Array<Record<string, unknown>>;
}

export function slackPayload(n: Notification): SlackPayload {
  const head = `${ICON[n.kind]} *${escapeSlack(n.title)}*`;
  const url = n.url?.replace(/[<>|]/g, '');
  const link = url === undefined ? [] : [`<${url}|workflow run>`];
  const body = n.lines.map(escapeSlack).join('\n');
  const blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text: head } }];
  if (body !== '')
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: body.length > SECTION_LIMIT ? `${body.slice(0, SECTION_LIMIT - 1)}…` : body,
      },
    });
  if (url !== undefined)
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the run' }, url }],
    });
  return { text: [head, ...n.lines.map(escapeSlack), ...link].join('\n'), blocks };
}

export interface NotifyDeps {
  fetch: typeof fetch;
  /** Receives a description of a failure; never the webhook URL. */
  warn: (message: string) => void;
  /** Waits before a retry (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
}

/** Slack rate-limits webhooks with 429 and Retry-After: a few bounded retries, then give up. */
const MAX_ATTEMPTS = 3;
const MAX_RETRY_AFTER_SECONDS = 30;

/** Posts to the webhook when one is configured; returns whether Slack accepted it. */
export async function notifySlack(
  webhook: string | undefined,
  n: Notification,
  deps: NotifyDeps,
): Promise<boolean> {
  if (webhook === undefined || webhook === '') return false;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  try {
    for (let attempt = 1; ; attempt++) {
      const response = await deps.fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackPayload(n)),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return true;
      if (response.status === 429 && attempt < MAX_ATTEMPTS) {
        const after = Number(response.headers.get('retry-after'));
        const seconds =
          Number.isFinite(after) && after >= 0 ? Math.min(after, MAX_RETRY_AFTER_SECONDS) : attempt;
        await sleep(seconds * 1000);
        continue;
      }
      deps.warn(
        `Slack notification (${n.kind}) was refused with HTTP ${response.status}${response.status === 429 ? ` after ${attempt} attempts` : ''}`,
      );
      return false;
    }
  } catch (error) {
    // The error message of fetch can contain the URL: report only its kind.
    const kind = error instanceof Error ? error.name : 'error';
    deps.warn(`Slack notification (${n.kind}) failed (${kind}); the pipeline continues`);
    return false;
  }
}
