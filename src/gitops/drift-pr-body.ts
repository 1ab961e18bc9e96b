import type { Priority } from '../drift/types.js';
import { escapeMarkdown, formatCount, formatPct, unescapeMarkdown } from './markdown.js';

/** GitHub rejects pull request bodies longer than this many characters. */
export const GITHUB_BODY_LIMIT = 65_536;
/** Room left under the limit for what GitHub adds (line-ending normalisation) and rounding. */
export const DEFAULT_BODY_BUDGET = GITHUB_BODY_LIMIT - 536;

/** A table of server names; `total` may exceed `names.length` after truncation. */
export interface ServerTable {
  names: string[];
  total: number;
}

/**
 * Everything the drift pull request says, as data. `renderDriftPrBody` turns it into Markdown and
 * `parseDriftPrBody` reads it back (release-please's pull-request-body pattern), so a later run can
 * compare what a PR says with what it should say.
 */
export interface DriftPrBody {
  priority: Priority;
  driftPct: number;
  fleetSize: number;
  unknownRatePct: number | null;
  modelId: string | null;
  modelAgeDays: number | null;
  /** The model's age in words (describeModelAge): what it is measured from, or why it is unknown. */
  modelAge: string;
  stale: boolean;
  thresholds: Record<string, number>;
  reasons: string[];
  manifestPath: string;
  manifestSha256: string;
  newServers: ServerTable;
  sunsetServers: ServerTable;
  pendingServers: ServerTable;
}

type Meta = Omit<DriftPrBody, 'newServers' | 'sunsetServers' | 'pendingServers'>;

const META_OPEN = '<!-- fleetcast:drift-pr ';
const META_CLOSE = ' -->';
const TABLES = [
  ['newServers', 'New servers', 'reporting metrics but unknown to the deployed model'],
  ['sunsetServers', 'Sunset servers', 'known to the model but silent past the sunset threshold'],
  ['pendingServers', 'Pending servers', 'new, but without enough history to train on yet'],
] as const;

export function driftPrTitle(body: Pick<DriftPrBody, 'priority' | 'driftPct'>): string {
  return `fleetcast: retrain for fleet drift ${body.driftPct.toFixed(1)}% [${body.priority} priority]`;
}

export function driftPrLabels(priority: Priority): string[] {
  return ['fleetcast', 'fleetcast:retrain', `priority:${priority}`];
}

/**
 * Renders the body within `budget` characters: when the full tables do not fit, every table is cut
 * to the same number of rows (the most that fit) and says how many names it left out.
 */
export function renderDriftPrBody(body: DriftPrBody, budget = DEFAULT_BODY_BUDGET): string {
  const longest = Math.max(...TABLES.map(([key]) => body[key].names.length));
  const full = renderWithRowLimit(body, longest);
  if (full.length <= budget) return full;
  let lo = 0;
  let hi = longest;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (renderWithRowLimit(body, mid).length <= budget) lo = mid;
    else hi = mid - 1;
  }
  const text = renderWithRowLimit(body, lo);
  if (text.length > budget) {
    throw new Error(`drift PR body is ${text.length} characters even without server rows (budget ${budget})`);
  }
  return text;
}

function renderWithRowLimit(body: DriftPrBody, rowLimit: number): string {
  const meta: Meta = {
    priority: body.priority,
    driftPct: body.driftPct,
    fleetSize: body.fleetSize,
    unknownRatePct: body.unknownRatePct,
    modelId: body.modelId,
    modelAgeDays: body.modelAgeDays,
    modelAge: body.modelAge,
    stale: body.stale,
    thresholds: body.thresholds,
    reasons: body.reasons,
    manifestPath: body.manifestPath,
    manifestSha256: body.manifestSha256,
  };
  const totals = Object.fromEntries(TABLES.map(([key]) => [key, body[key].total]));
  const lines: string[] = [];
  lines.push(`${META_OPEN}${jsonForComment({ version: 1, ...meta, totals })}${META_CLOSE}`);
  lines.push('## Fleet drift: retraining proposed', '');
  const model = body.modelId === null ? 'no deployed model' : `model ${escapeMarkdown(body.modelId)}`;
  lines.push(
    `**Priority: ${body.priority}.** Fleet drift is **${formatPct(body.driftPct)}** ` +
      `(${formatCount(body.newServers.total)} new, ${formatCount(body.sunsetServers.total)} sunset, ` +
      `${formatCount(body.pendingServers.total)} pending) against ${model}.`,
    '',
  );
  if (body.reasons.length > 0) {
    lines.push('Why:', '');
    for (const reason of body.reasons) lines.push(`- ${escapeMarkdown(reason)}`);
    lines.push('');
  }
  lines.push('| Signal | Value |', '|---|---|');
  lines.push(`| Fleet drift | ${formatPct(body.driftPct)} |`);
  lines.push(`| Unknown predictions | ${formatPct(body.unknownRatePct)} |`);
  lines.push(`| Model age | ${escapeMarkdown(body.modelAge)}${body.stale ? ' (stale)' : ''} |`);
  lines.push(`| Fleet size | ${formatCount(body.fleetSize)} servers |`);
  for (const [name, value] of Object.entries(body.thresholds)) {
    lines.push(`| Threshold ${escapeMarkdown(name)} | ${escapeMarkdown(String(value))} |`);
  }
  lines.push('');
  for (const [key, title, meaning] of TABLES) {
    const table = body[key];
    lines.push(`### ${title} (${formatCount(table.total)})`, '');
    if (table.total === 0) {
      lines.push('None.', '');
      continue;
    }
    lines.push(`_${meaning}_`, '', '| Server |', '|---|');
    const shown = table.names.slice(0, rowLimit);
    for (const name of shown) lines.push(`| ${escapeMarkdown(name)} |`);
    const omitted = table.total - shown.length;
    if (omitted > 0) lines.push(`| … and ${formatCount(omitted)} more |`);
    lines.push('');
  }
  lines.push('---', '');
  lines.push(
    `Merging this pull request updates \`${body.manifestPath.replace(/`/g, '')}\` ` +
      `(sha256 \`${body.manifestSha256.slice(0, 12)}\`) and starts the retrain workflow. ` +
      'This branch is managed by Fleetcast: later drift checks update it in place, or close the pull ' +
      'request when the drift is gone. Commits you add are kept; Fleetcast then comments instead of updating.',
  );
  return `${lines.join('\n')}\n`;
}

/** Reads a body rendered by renderDriftPrBody; undefined when the text is not one. */
export function parseDriftPrBody(markdown: string): DriftPrBody | undefined {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const metaLine = lines.find((l) => l.startsWith(META_OPEN) && l.endsWith(META_CLOSE));
  if (metaLine === undefined) return undefined;
  let meta: Meta & { version: number; totals: Record<string, number> };
  try {
    meta = JSON.parse(metaLine.slice(META_OPEN.length, -META_CLOSE.length));
  } catch {
    return undefined;
  }
  if (meta.version !== 1) return undefined;
  const tables = Object.fromEntries(
    TABLES.map(([key, title]) => [key, { names: readTable(lines, title), total: meta.totals[key] ?? 0 }]),
  ) as Record<(typeof TABLES)[number][0], ServerTable>;
  return {
    priority: meta.priority,
    driftPct: meta.driftPct,
    fleetSize: meta.fleetSize,
    unknownRatePct: meta.unknownRatePct,
    modelId: meta.modelId,
    modelAgeDays: meta.modelAgeDays,
    // Bodies written before modelAge existed said only the days.
    modelAge:
      typeof meta.modelAge === 'string'
        ? meta.modelAge
        : meta.modelAgeDays === null
          ? 'n/a'
          : `${meta.modelAgeDays.toFixed(1)} days`,
    stale: meta.stale,
    thresholds: meta.thresholds,
    reasons: meta.reasons,
    manifestPath: meta.manifestPath,
    manifestSha256: meta.manifestSha256,
    ...tables,
  };
}

function readTable(lines: string[], title: string): string[] {
  const start = lines.findIndex((l) => l.startsWith(`### ${title} (`));
  if (start < 0) return [];
  const names: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('### ') || line === '---') break;
    const cell = /^\| (.*) \|$/.exec(line);
    if (cell === null || line === '| Server |' || line.startsWith('| … and ')) continue;
    names.push(unescapeMarkdown(cell[1]!));
  }
  return names;
}

/** JSON that cannot end an HTML comment early. */
function jsonForComment(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
}
