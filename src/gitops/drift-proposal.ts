import { z } from 'zod';
import { Manifest, renderManifest } from '../fleet/manifest.js';
import { serverNameProblem } from '../core/server-name.js';
import { sha256Text } from '../registry/checksums.js';
import { InputError } from '../core/errors.js';
import type { DriftPrBody, Priority } from './drift-pr-body.js';

/**
 * The part of the drift engine's report (src/drift, `fleetcast drift --json`) that the drift
 * action uses. Extra fields are allowed so the engine can grow without breaking the action.
 */
const ServerList = z
  .array(z.union([z.string(), z.looseObject({ name: z.string() })]))
  .default([])
  .transform((list) => list.map((entry) => (typeof entry === 'string' ? entry : entry.name)));
export const DriftReportInput = z.looseObject({
  drift_pct: z.number().finite().min(0),
  priority: z.string(),
  new_servers: ServerList,
  sunset_servers: ServerList,
  pending_servers: ServerList,
  unknown_rate: z
    .union([z.number(), z.null(), z.looseObject({ rate_pct: z.number().nullable().optional() })])
    .optional(),
  model: z
    .union([
      z.string(),
      z.null(),
      z.looseObject({ id: z.string().nullable().optional(), model_id: z.string().nullable().optional() }),
    ])
    .optional(),
  model_age_days: z.number().nullable().optional(),
  stale: z.boolean().default(false),
  thresholds: z.record(z.string(), z.unknown()).default({}),
  decision: z.looseObject({
    retrain: z.boolean(),
    priority: z.string().optional(),
    reasons: z.array(z.string()).default([]),
  }),
  manifest: Manifest,
});
export type DriftReportInput = z.infer<typeof DriftReportInput>;

const PRIORITIES: readonly Priority[] = ['none', 'low', 'medium', 'high'];

export function parseDriftReport(json: unknown, where: string): DriftReportInput {
  const parsed = DriftReportInput.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .slice(0, 20)
      .map((issue) => `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new InputError(lines.join('\n'));
  }
  const report = parsed.data;
  for (const key of ['new_servers', 'sunset_servers', 'pending_servers'] as const) {
    report[key].forEach((name, i) => {
      const problem = serverNameProblem(name);
      if (problem) throw new InputError(`${where}: ${key}[${i}]: ${problem}`);
    });
  }
  return report;
}

function priorityOf(text: string | undefined): Priority {
  const lower = (text ?? 'none').toLowerCase();
  return (PRIORITIES as readonly string[]).includes(lower) ? (lower as Priority) : 'none';
}

function unknownRatePct(value: DriftReportInput['unknown_rate']): number | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'number' ? value : (value.rate_pct ?? null);
}

function modelIdOf(value: DriftReportInput['model']): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : (value.id ?? value.model_id ?? null);
}

/** Numeric leaves of the thresholds object, flattened to `a.b` keys (the PR shows them as a table). */
export function flattenThresholds(value: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value === 'number') {
    out[prefix || 'value'] = value;
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value))
      Object.assign(out, flattenThresholds(inner, prefix ? `${prefix}.${key}` : key));
  }
  return out;
}

export interface DriftProposal {
  retrain: boolean;
  priority: Priority;
  reasons: string[];
  manifestText: string;
  body: DriftPrBody;
}

/** What the pull request should say and contain, from a report; `force` proposes even below thresholds. */
export function proposalFromReport(
  report: DriftReportInput,
  manifestPath: string,
  force: boolean,
): DriftProposal {
  const manifestText = renderManifest(report.manifest);
  const priority = priorityOf(report.decision.priority ?? report.priority);
  const reasons = [...report.decision.reasons];
  const retrain = report.decision.retrain || force;
  if (force && !report.decision.retrain) reasons.push('retraining forced by a manual run (force: true)');
  const table = (names: string[]) => ({ names: [...names].sort(), total: names.length });
  return {
    retrain,
    priority,
    reasons,
    manifestText,
    body: {
      priority,
      driftPct: report.drift_pct,
      fleetSize: report.manifest.servers.length,
      unknownRatePct: unknownRatePct(report.unknown_rate),
      modelId: modelIdOf(report.model),
      modelAgeDays: report.model_age_days ?? null,
      stale: report.stale,
      thresholds: flattenThresholds(report.thresholds),
      reasons,
      manifestPath,
      manifestSha256: sha256Text(manifestText),
      newServers: table(report.new_servers),
      sunsetServers: table(report.sunset_servers),
      pendingServers: table(report.pending_servers),
    },
  };
}
