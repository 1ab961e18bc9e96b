import type { StepRecord } from './steps.js';

export interface DemoFacts {
  workspace: string;
  initialFleet: number;
  fleetNow: number;
  added: number;
  sunset: number;
  pending: number;
  driftPct: number;
  priority: string;
  pullRequest: string;
  initialModel: string;
  retrainedModel: string;
  coverageBefore: number | null;
  coverageAfter: number | null;
  unknownBefore: number | null;
  unknownAfter: number | null;
  qRiskInitial: number | null;
  qRiskRetrained: number | null;
  swapSeconds: { deploy: number; rollback: number; rollForward: number };
  totalSeconds: number;
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} %`);
const num = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));

/** The final table: what changed, and what it cost in time. */
export function renderSummary(facts: DemoFacts, steps: readonly StepRecord[]): string {
  const rows: Array<[string, string]> = [
    ['fleet (manifest) before → after', `${facts.initialFleet} → ${facts.fleetNow} servers`],
    [
      'fleet changes',
      `${facts.added} new, ${facts.sunset} sunset, ${facts.pending} pending (too little history)`,
    ],
    ['fleet drift', `${facts.driftPct.toFixed(2)} % (priority: ${facts.priority})`],
    ['pull request', facts.pullRequest],
    ['model before → after', `${facts.initialModel} → ${facts.retrainedModel}`],
    ['coverage before → after retrain', `${pct(facts.coverageBefore)} → ${pct(facts.coverageAfter)}`],
    [
      'manifest servers unknown to the model',
      `${facts.unknownBefore ?? 'n/a'} → ${facts.unknownAfter ?? 'n/a'}`,
    ],
    [
      'P50/P90 q-risk (all targets) before → after',
      `${num(facts.qRiskInitial)} → ${num(facts.qRiskRetrained)}`,
    ],
    [
      'hot swap: deploy / rollback / roll forward',
      `${facts.swapSeconds.deploy.toFixed(1)}s / ${facts.swapSeconds.rollback.toFixed(1)}s / ${facts.swapSeconds.rollForward.toFixed(1)}s (push → serving)`,
    ],
    ['total time', `${facts.totalSeconds.toFixed(0)}s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length), ...steps.map((s) => s.name.length));
  const line = (k: string, v: string) => `  ${k.padEnd(width)}  ${v}`;
  return [
    '',
    'Summary',
    ...rows.map(([k, v]) => line(k, v)),
    '',
    'Steps',
    ...steps.map((s, i) => line(`${i + 1}. ${s.name}`, `${s.seconds.toFixed(1)}s`)),
    '',
  ].join('\n');
}
