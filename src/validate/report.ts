import type { ConvergenceReport } from './convergence.js';
import type { CoverageCheck } from './coverage-check.js';
import { findScore } from './scoring.js';
import { DEPLOYED, MODEL, SEASONAL_NAIVE, type GateConfig, type GateResult } from './gates.js';
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
    const show = quantiles.filter((q) => [0.5, 0.9].some((w) => Math.abs(q - w) < 1e-9));
    const header = [
      'target',
      'q',
      'model',
      'naive',
      'ratio',
      ...(acc.deployed.scored ? ['deployed'] : []),
      'known',
      'known (same profiles)',
      'unknown',
    ];
    const rows: string[][] = [header];
    const f = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));
    for (const t of targets)
      for (const q of show) {
        const m = findScore(acc.scores, MODEL, 'all', t, q)?.q_risk;
        const n = findScore(acc.scores, SEASONAL_NAIVE, 'all', t, q)?.q_risk;
        rows.push([
          t,
          `P${Math.round(q * 100)}`,
          f(m),
          f(n),
          m != null && n ? (m / n).toFixed(3) : '-',
          ...(acc.deployed.scored ? [f(findScore(acc.scores, DEPLOYED, 'all', t, q)?.q_risk)] : []),
          f(findScore(acc.scores, MODEL, 'known', t, q)?.q_risk),
          f(findScore(acc.scores, MODEL, 'known_profile_matched', t, q)?.q_risk),
          f(findScore(acc.scores, MODEL, 'unknown', t, q)?.q_risk),
        ]);
      }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    lines.push('  q-risk (lower is better):');
    for (const r of rows) lines.push(`    ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`);
  } else if (report.accuracy_note) lines.push(`  accuracy: ${report.accuracy_note}`);
  lines.push('  gates:');
  for (const g of report.gates) {
    const mark = !g.enforced ? 'info' : g.passed ? 'pass' : 'FAIL';
    lines.push(`    [${mark}] ${g.name}: ${g.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
