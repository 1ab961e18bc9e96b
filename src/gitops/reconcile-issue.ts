import { z } from 'zod';
import { GITHUB_BODY_LIMIT } from './drift-pr-body.js';
import { escapeMarkdown, formatCount } from './markdown.js';

/**
 * The reconcile loop's tracking issue (one per default branch, like Renovate's dependency
 * dashboard). Its body is rendered from an object and parsed back: a hidden first-line comment
 * carries the loop's state between scheduled runs (the job has no other storage), the rest says
 * in words what is desired, what is deployed, what was tried, why it failed and when the next try is.
 */

export const RECONCILE_LABEL = 'fleetcast:reconcile';

export function reconcileIssueTitle(base: string): string {
  return `Fleetcast: deployed model vs fleet manifest (${base})`;
}

export const ReconcileStatus = z.enum([
  /** The deployed model covers the manifest (and the service serves it, when one is configured). */
  'converged',
  /** Diverged; the next retrain is due at nextTryAt. */
  'waiting',
  /** This run dispatched a retrain. */
  'dispatched',
  /** A retrain run is queued, running or waiting for approval: the loop waits for it. */
  'running',
  /** A person rolled back the deploy for this manifest: automation stands still. */
  'held',
  /** The attempt cap is reached for this manifest: a person must look. */
  'gave-up',
  /** The pointer's model covers the manifest, but the service does not serve it. */
  'unverified',
]);
export type ReconcileStatus = z.infer<typeof ReconcileStatus>;

export const Attempt = z.object({
  /** Attempt id, also in the dispatched run's name: `<manifest sha256, 8>-<n>`. */
  id: z.string(),
  /** When it was dispatched (ISO). */
  at: z.string(),
  runId: z.number().int().nullable(),
  runUrl: z.string().nullable(),
  /** dispatched | running | failed | succeeded | not-started */
  outcome: z.string(),
  /** Why it failed, in words (null while pending or when it succeeded). */
  reason: z.string().nullable(),
});
export type Attempt = z.infer<typeof Attempt>;

/** What one run leaves for the next (the hidden JSON). */
export const ReconcileState = z.object({
  version: z.literal(1),
  status: ReconcileStatus,
  /** The manifest this episode is about; a different manifest starts a new episode. */
  manifestSha256: z.string(),
  /** When the loop first saw this manifest uncovered (ISO). */
  since: z.string(),
  /** Retrains dispatched by the loop for this manifest. */
  attempts: z.number().int().min(0),
  nextTryAt: z.string().nullable(),
  /** The latest attempts, oldest first (at most MAX_LOGGED_ATTEMPTS). */
  log: z.array(Attempt),
});
export type ReconcileState = z.infer<typeof ReconcileState>;

export const MAX_LOGGED_ATTEMPTS = 10;

/** The whole issue body: the state plus what is shown and not kept. */
export interface ReconcileIssueBody {
  state: ReconcileState;
  base: string;
  manifestPath: string;
  manifestServers: number;
  modelId: string | null;
  vocabularySize: number;
  /** Manifest servers outside the deployed model's vocabulary, sorted. */
  missing: string[];
  /** `/health` model id, an error, or undefined when no service URL is configured. */
  served: { modelId: string | null } | { error: string } | undefined;
  maxAttempts: number;
  /** One sentence: what the loop did or why it stands still. */
  summary: string;
  notes: string[];
}

const META_OPEN = '<!-- fleetcast:reconcile ';
const META_CLOSE = ' -->';
const BUDGET = GITHUB_BODY_LIMIT - 536;

/** JSON that cannot end an HTML comment early. */
const jsonForComment = (value: unknown) =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');

const STATUS_WORDS: Record<ReconcileStatus, string> = {
  converged: '✅ converged',
  waiting: '⏳ waiting for the next try',
  dispatched: '🚀 retrain dispatched',
  running: '🏃 retrain running',
  held: '✋ held: a person rolled back',
  'gave-up': '🛑 attempt cap reached',
  unverified: '❓ deployed but not verified or not served',
};

function servedText(served: ReconcileIssueBody['served']): string {
  if (served === undefined) return 'not checked (no service URL configured)';
  if ('error' in served) return `unreachable: ${escapeMarkdown(served.error)}`;
  return served.modelId === null ? 'no model' : `\`${served.modelId}\``;
}

export function renderReconcileIssueBody(body: ReconcileIssueBody, budget = BUDGET): string {
  const s = body.state;
  const head: string[] = [
    `${META_OPEN}${jsonForComment(s)}${META_CLOSE}`,
    `## Deployed model vs fleet manifest (\`${body.base}\`)`,
    '',
    `**${STATUS_WORDS[s.status]}** — ${escapeMarkdown(body.summary)}`,
    '',
    '| | |',
    '|---|---|',
    `| Desired: \`${body.manifestPath.replace(/`/g, '')}\` on \`${body.base}\` | ${formatCount(body.manifestServers)} servers (sha256 \`${s.manifestSha256.slice(0, 12)}\`) |`,
    `| Deployed: \`current.json\` on \`${body.base}\` | ${body.modelId === null ? 'no model' : `\`${body.modelId}\``}, vocabulary of ${formatCount(body.vocabularySize)} servers |`,
    `| Served (\`/health\`) | ${servedText(body.served)} |`,
    `| Manifest servers missing from the deployed model | ${formatCount(body.missing.length)} |`,
    `| Retrains dispatched for this manifest | ${s.attempts} of ${body.maxAttempts} |`,
    `| Next try | ${s.nextTryAt ?? '—'} |`,
    '',
  ];
  if (s.log.length > 0) {
    head.push('### Attempts', '', '| Attempt | Dispatched | Run | Outcome | Why |', '|---|---|---|---|---|');
    for (const a of s.log)
      head.push(
        `| \`${a.id}\` | ${a.at} | ${a.runUrl === null ? '—' : `[${a.runId ?? 'run'}](${a.runUrl})`} | ${a.outcome} | ${escapeMarkdown(a.reason ?? '')} |`,
      );
    head.push('');
  }
  if (body.notes.length > 0) head.push(...body.notes.map((n) => `- ${escapeMarkdown(n)}`), '');
  const tail = [
    '---',
    '',
    'Fleetcast manages this issue: the scheduled drift job compares the manifest with the deployed ' +
      'model every run, retries a failed retrain with exponential backoff, closes this issue when they ' +
      'converge and reopens it when they diverge again. It never redeploys a model a person rolled ' +
      'back. Edits to this description are overwritten.',
  ];
  const fixed = head.join('\n').length + tail.join('\n').length + 200;
  const missing: string[] = [];
  if (body.missing.length > 0) {
    missing.push(`### Missing servers (${formatCount(body.missing.length)})`, '', '| Server |', '|---|');
    let used = fixed + missing.join('\n').length;
    let shown = 0;
    for (const name of body.missing) {
      const row = `| ${escapeMarkdown(name)} |`;
      if (shown >= 200 || used + row.length + 1 > budget) break;
      missing.push(row);
      used += row.length + 1;
      shown++;
    }
    if (shown < body.missing.length)
      missing.push(`| … and ${formatCount(body.missing.length - shown)} more |`);
    missing.push('');
  }
  return `${[...head, ...missing, ...tail].join('\n')}\n`;
}

/** The state from a body rendered by renderReconcileIssueBody; undefined when it is not one. */
export function parseReconcileState(markdown: string): ReconcileState | undefined {
  const line = markdown
    .replace(/\r\n/g, '\n')
    .split('\n')
    .find((l) => l.startsWith(META_OPEN) && l.endsWith(META_CLOSE));
  if (line === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(line.slice(META_OPEN.length, -META_CLOSE.length));
  } catch {
    return undefined;
  }
  const parsed = ReconcileState.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
