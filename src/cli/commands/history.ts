import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { pointerHistory, type HeldOutRecord, type PointerHistoryEntry } from '../../gitops/deploy-log.js';

interface HistoryOptions {
  registry: string;
  limit: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('history')
    .description(
      "Show what current.json named over time: its git log inside a git repository, else the pointer's previous_model_id",
    )
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .option('--limit <n>', 'at most this many commits', '50')
    .option('--json', 'print the history as JSON')
    .action(async (options: HistoryOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new InputError(`--limit: expected a positive integer, got ${options.limit}`);
      const history = await pointerHistory(options.registry, { limit });
      if (options.json) {
        printJson(history);
        return;
      }
      const lines = [`source: ${history.source === 'git' ? history.note : `pointer only. ${history.note}`}`];
      const rows =
        history.source === 'git'
          ? [
              [
                'COMMITTED',
                'COMMIT',
                'MODEL',
                'HELD-OUT P50 Q-RISK',
                'HELD-OUT P90',
                LIVE_HEADER,
                'PREVIOUS',
                'BY',
                'SUBJECT',
              ],
              ...history.entries.map((e) => [
                e.uncommitted ? '(uncommitted)' : (e.committed_at ?? ''),
                e.commit?.slice(0, 12) ?? '',
                e.model_id ?? '(none)',
                heldOutText(e.held_out),
                heldOutText(e.held_out, 'p90'),
                liveText(e),
                e.previous_model_id ?? '',
                e.author ?? '',
                e.problem ?? e.subject ?? `reason: ${e.reason ?? ''}`,
              ]),
            ]
          : [
              ['DEPLOYED', 'MODEL', 'HELD-OUT P50 Q-RISK', 'PREVIOUS', 'REASON'],
              ...history.entries.map((e) => [
                e.deployed_at ?? '(earlier)',
                e.model_id ?? '(none)',
                heldOutText(e.held_out),
                e.previous_model_id ?? '',
                e.problem ?? e.reason ?? '',
              ]),
            ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows)
        lines.push(
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        );
      if (history.entries.length === 0) lines.push('(nothing has been deployed)');
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

const LIVE_HEADER = 'LIVE P50/P90 (SEASONAL NAIVE) WHILE SERVING';

/** `0.121/0.054 (naive 0.150/0.061), 12000 points, 23.0 h`, or `none: <why>`; `-` while serving. */
function liveText(e: PointerHistoryEntry): string {
  const r = e.live;
  if (r === null)
    return e.live_missing === null
      ? '-'
      : e.live_missing.startsWith('still serving')
        ? '(serving)'
        : `none: ${e.live_missing}`;
  const q = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  return `${q(r.p50)}/${q(r.p90)} (naive ${q(r.naive_p50)}/${q(r.naive_p90)}), ${r.scored_points} points, ${r.scored_hours.toFixed(1)} h`;
}

/** `cpu_pct 0.243, mem_pct 0.146` (FAILED when the model did not pass), or `-` without a record. */
function heldOutText(record: HeldOutRecord | null, quantile: 'p50' | 'p90' = 'p50'): string {
  if (record === null) return '-';
  const figures = Object.entries(record[quantile]).map(([target, q]) => `${target} ${q.toFixed(3)}`);
  const text = figures.length > 0 ? figures.join(', ') : 'not measured';
  return record.passed ? text : `${text} (FAILED)`;
}
