import type { ConvergenceReport } from './convergence.js';
import type { CoverageCheck } from './coverage-check.js';
import { findScore } from './scoring.js';
import { DEPLOYED, MODEL, SEASONAL_NAIVE, type GateConfig, type GateResult } from './gates.js';
import { QUANTILE_NAIVE } from './peer-request.js';
import type { HeldOutEvaluation } from './heldout.js';

/** `validation.json`: the report a model passed (or, in a work dir, failed). */
export interface ValidationReport {
  format_version: 1;
  model_id: string;
  validated_at: string;
  passed: boolean;
  manifest_servers: number;
  targets: string[];
  quantiles: number[];
  coverage: CoverageCheck;
  convergence: ConvergenceReport | null;
  /** The trainer's own verdict and criterion (train_report.json), for reference. */
  trainer_convergence: unknown;
  accuracy: HeldOutEvaluation | null;
  accuracy_note: string | null;
  gates: GateResult[];
  gate_config: GateConfig;
  duration_seconds: number;
}

/** Human-readable report for stdout. */
export function renderReport(report: ValidationReport): string {
  const { targets, quantiles } = report;
  const lines: string[] = [];
  lines.push(`model ${report.model_id}: validation ${report.passed ? 'PASSED' : 'FAILED'}`);
  lines.push(`  coverage: ${report.coverage.message}`);
  if (report.convergence)
    lines.push(
      `  convergence: ${report.convergence.passed ? 'ok' : 'FAILED'}: ${report.convergence.message}`,
    );
  const acc = report.accuracy;
  if (acc) {
    lines.push(
      `  held-out window ${acc.window.start} to ${acc.window.end}: ${acc.windows.known} known-server and ` +
        `${acc.windows.unknown} unknown-server forecasts (${acc.windows.skipped_missing_input} skipped for missing input)`,
    );
    if (acc.holdout_rows_max_abs_diff !== null && acc.holdout_rows_max_abs_diff > 1e-4)
      lines.push(
        `  warning: holdout servers are not served like unknown servers (forecast differs by up to ${acc.holdout_rows_max_abs_diff.toPrecision(3)}); ` +
          'the trainer should copy embedding row 0 into their rows before export',
      );
    if (acc.deployed.note && acc.deployed.model_id)
      lines.push(`  deployed model not compared: ${acc.deployed.note}`);
    lines.push(...peerLines(acc));
    lines.push(...scoreTable(acc, targets, quantiles));
  } else if (report.accuracy_note) lines.push(`  accuracy: ${report.accuracy_note}`);
  lines.push('  gates:');
  for (const g of report.gates) {
    const mark = !g.enforced ? (g.passed ? 'info' : 'warn') : g.passed ? 'pass' : 'FAIL';
    lines.push(`    [${mark}] ${g.name}: ${g.detail}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What became of each requested peer forecaster (docs/peers.md). */
function peerLines(acc: HeldOutEvaluation): string[] {
  const peers = acc.peers ?? [];
  if (peers.length === 0) return [];
  const secs = (v: number | null) => (v === null ? '' : ` ${v.toFixed(1)}s`);
  const scored = peers.filter((p) => p.status === 'scored');
  const lines = [
    `  peers, fitted on data before ${acc.window.start}: ` +
      (scored.length ? scored.map((p) => `${p.peer}${secs(p.seconds)}`).join(', ') : 'none scored'),
  ];
  for (const p of peers)
    if (p.status !== 'scored')
      lines.push(`  ${p.status === 'failed' ? 'FAILED' : 'left out'}: ${p.note ?? `peer ${p.peer}`}`);
  return lines;
}

/**
 * q-risk per target and quantile on all servers: the model, each baseline and the model's ratio to
 * it (the column says which: model/naive, model/<peer>), then the model by server group. With
 * peers every quantile is shown, P10 and P90 included, since qnaive makes them comparable.
 */
function scoreTable(
  acc: HeldOutEvaluation,
  targets: readonly string[],
  quantiles: readonly number[],
): string[] {
  const peers = (acc.peers ?? []).filter((p) => p.status === 'scored').map((p) => p.peer);
  const show = peers.length
    ? quantiles
    : quantiles.filter((q) => [0.5, 0.9].some((w) => Math.abs(q - w) < 1e-9));
  const header = [
    'target',
    'q',
    'model',
    'naive',
    'model/naive',
    ...(acc.deployed.scored ? ['deployed'] : []),
    ...peers.flatMap((p) => [p, `model/${p}`]),
    'known',
    'known (same profiles)',
    'unknown',
  ];
  const rows: string[][] = [header];
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a != null && b ? (a / b).toFixed(3) : '-';
  for (const t of targets)
    for (const q of show) {
      const get = (model: string, group: Parameters<typeof findScore>[2] = 'all') =>
        findScore(acc.scores, model, group, t, q)?.q_risk;
      const m = get(MODEL);
      rows.push([
        t,
        `P${Math.round(q * 100)}`,
        f(m),
        f(get(SEASONAL_NAIVE)),
        ratio(m, get(SEASONAL_NAIVE)),
        ...(acc.deployed.scored ? [f(get(DEPLOYED))] : []),
        ...peers.flatMap((p) => [f(get(p)), ratio(m, get(p))]),
        f(get(MODEL, 'known')),
        f(get(MODEL, 'known_profile_matched')),
        f(get(MODEL, 'unknown')),
      ]);
    }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = ["  q-risk (lower is better; model/X = model q-risk ÷ X's, below 1 the model is better):"];
  for (const r of rows) lines.push(`    ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`);
  lines.push(
    peers.includes(QUANTILE_NAIVE)
      ? '  naive = one-day seasonal naive, a point forecast scored at every quantile; qnaive = the same plus the quantiles of its own past errors: read P10/P90 against qnaive'
      : '  naive = one-day seasonal naive, a point forecast scored at every quantile: an easy baseline away from P50 (--peers qnaive adds a quantile-aware one)',
  );
  return lines;
}
