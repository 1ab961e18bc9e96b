import { describeModelAge } from './model-age.js';
import type { DriftReport } from './types.js';

const LIST_LIMIT = 20;

/** The human-readable drift report (stdout without --json). */
export function renderDriftText(report: DriftReport): string {
  const lines: string[] = [];
  const m = report.model;
  lines.push(`Fleet drift check at ${report.now}`);
  lines.push(`  metrics: ${report.source}`);
  lines.push(
    `  model:   ${m.deployed ? (m.id ?? 'server list') : 'none deployed'} (${m.servers} servers` +
      `${m.age_from === null ? '' : `, ${describeModelAge(m, report.now)}`})`,
  );
  const f = report.fleet;
  lines.push(
    `  fleet:   ${f.total} servers: ${f.active} active, ${f.offline} offline, ${f.sunset_candidate} sunset candidates, ` +
      `${f.sunset_confirmed} sunset confirmed; ${f.eligible} eligible for training`,
  );
  lines.push('');
  lines.push(`Drift ${report.drift_pct.toFixed(2)}% (${report.drift_priority})`);
  section(
    lines,
    'New servers',
    report.new_servers,
    (s) => `${s.name}  ${s.profile}  first seen ${s.first_seen.slice(0, 10)}`,
  );
  section(
    lines,
    'Sunset servers',
    report.sunset_servers,
    (s) =>
      `${s.name}  ${s.status}${s.days_silent === null ? ' (no metrics)' : `  silent ${s.days_silent.toFixed(1)} days`}`,
  );
  section(
    lines,
    'Pending servers (not yet eligible)',
    report.pending_servers,
    (s) => `${s.name}  ${s.reason}${s.eligible_at ? `; eligible ${s.eligible_at.slice(0, 10)}` : ''}`,
  );
  section(
    lines,
    'Silent servers (watch)',
    report.silent_servers,
    (s) =>
      `${s.name}  ${s.status}  silent ${s.days_silent.toFixed(1)} days${s.in_model ? '' : ' (not in model)'}`,
  );
  if (report.unknown_rate)
    lines.push(
      `Unknown-server predictions ${report.unknown_rate.rate_pct.toFixed(2)}% (${report.unknown_rate.level})`,
    );
  lines.push('');
  lines.push(
    `Decision: ${report.decision.retrain ? `RETRAIN (priority ${report.priority})` : 'no retraining needed'}`,
  );
  for (const reason of report.decision.reasons) lines.push(`  - ${reason}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

function section<T>(lines: string[], title: string, items: readonly T[], line: (item: T) => string): void {
  if (items.length === 0) return;
  lines.push(`${title}: ${items.length}`);
  for (const item of items.slice(0, LIST_LIMIT)) lines.push(`  ${line(item)}`);
  if (items.length > LIST_LIMIT) lines.push(`  … and ${items.length - LIST_LIMIT} more (--json lists all)`);
}
