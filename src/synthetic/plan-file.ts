import { readFile } from 'node:fs/promises';
import { assessEligibility, DEFAULT_ELIGIBILITY_POLICY } from '../fleet/eligibility.js';
import { classifySilence, DEFAULT_STATUS_POLICY } from '../fleet/status.js';
import { plannedSamples, type FleetPlan, type PlannedServer, type PlannedStatus } from './fleet-plan.js';

/** What `<out>.plan.json` holds: the window and every planted server with its expected status. */
export interface PlanFile {
  format_version: 1;
  options: {
    servers: number;
    days: number;
    interval_seconds: number;
    seed: number;
    add: number;
    sunset: number;
  };
  start: string;
  end: string;
  servers_total: number;
  expected_status_counts: Record<PlannedStatus, number>;
  planted: Array<{
    name: string;
    profile: string;
    kind: 'added' | 'sunset';
    first_seen: string | null;
    last_seen: string | null;
    planned_samples: number;
    expected_status: PlannedStatus;
    expected_eligible: boolean;
  }>;
}

/** The plan file next to a generated metrics file. */
export function planPathOf(metricsPath: string): string {
  return `${metricsPath}.plan.json`;
}

/** Reads the plan file the generator wrote next to `metricsPath` (its own output: not re-validated). */
export async function readPlanFile(metricsPath: string): Promise<PlanFile> {
  return JSON.parse(await readFile(planPathOf(metricsPath), 'utf8')) as PlanFile;
}

/** The planted servers and the status the fleet policy should give them at `plan.end`. */
export function renderPlanFile(plan: FleetPlan): PlanFile {
  const counts: Record<PlannedStatus, number> = {
    active: 0,
    offline: 0,
    sunset_candidate: 0,
    sunset_confirmed: 0,
    absent: 0,
  };
  const planted: PlanFile['planted'] = [];
  for (const server of plan.servers) {
    const status = expectedStatus(plan, server);
    counts[status]++;
    if (server.kind === 'base') continue;
    const samples = plannedSamples(server);
    const firstSeen = samples > 0 ? stepTime(plan, server.firstStep) : null;
    const lastSeen = samples > 0 ? stepTime(plan, server.lastStep) : null;
    planted.push({
      name: server.name,
      profile: server.profile,
      kind: server.kind,
      first_seen: firstSeen?.toISOString() ?? null,
      last_seen: lastSeen?.toISOString() ?? null,
      planned_samples: samples,
      expected_status: status,
      expected_eligible:
        firstSeen !== null &&
        lastSeen !== null &&
        assessEligibility({ firstSeen, lastSeen, samples }, DEFAULT_ELIGIBILITY_POLICY).eligible,
    });
  }
  return {
    format_version: 1,
    options: {
      servers: plan.servers.filter((s) => s.kind !== 'added').length,
      days: (plan.steps * plan.intervalSeconds) / 86_400,
      interval_seconds: plan.intervalSeconds,
      seed: plan.seed,
      add: plan.servers.filter((s) => s.kind === 'added').length,
      sunset: plan.servers.filter((s) => s.kind === 'sunset').length,
    },
    start: plan.start.toISOString(),
    end: plan.end.toISOString(),
    servers_total: plan.servers.length,
    expected_status_counts: counts,
    planted,
  };
}

function expectedStatus(plan: FleetPlan, server: PlannedServer): PlannedStatus {
  if (plannedSamples(server) === 0) return 'absent';
  const silentMs = plan.end.getTime() - stepTime(plan, server.lastStep).getTime();
  return classifySilence(silentMs, DEFAULT_STATUS_POLICY);
}

function stepTime(plan: FleetPlan, step: number): Date {
  return new Date(plan.start.getTime() + step * plan.intervalSeconds * 1000);
}
