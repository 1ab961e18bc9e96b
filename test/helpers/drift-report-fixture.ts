import type { DriftReport } from '../../src/drift/types.js';

/** A drift report as `fleetcast drift --json` prints it (src/drift/types.ts), small and deterministic. */
export interface ReportOptions {
  servers: string[];
  newServers?: string[];
  sunsetServers?: string[];
  pendingServers?: string[];
  retrain?: boolean;
  priority?: 'none' | 'low' | 'medium' | 'high';
  driftPct?: number;
}

export function manifestOf(servers: readonly string[]): {
  format_version: 1;
  servers: Array<{ name: string; profile: string; first_seen: string }>;
} {
  return {
    format_version: 1,
    servers: [...servers].sort().map((name) => ({ name, profile: 'web', first_seen: '2026-10-01' })),
  };
}

export function driftReport(o: ReportOptions): DriftReport {
  const newServers = o.newServers ?? [];
  const sunset = o.sunsetServers ?? [];
  const retrain = o.retrain ?? true;
  const priority = o.priority ?? (retrain ? 'high' : 'none');
  const driftPct = o.driftPct ?? 40;
  const reasons = retrain ? [`fleet drift ${driftPct.toFixed(1)}% exceeds 35% (high priority)`] : [];
  return {
    format_version: 1,
    generated_at: '2026-11-26T04:00:00.000Z',
    now: '2026-11-26T04:00:00.000Z',
    source: 'fixture',
    config_source: 'defaults',
    model: {
      id: 'tft-20261020T040000Z-ffeedd',
      source: 'registry',
      deployed: true,
      servers: 20,
      trained_at: '2026-10-20T04:00:00.000Z',
      data_end: '2026-10-20T00:00:00.000Z',
      age_days: 37,
      age_from: 'data_end',
      age_note: null,
    },
    fleet: {
      total: o.servers.length + sunset.length,
      active: o.servers.length,
      offline: 0,
      sunset_candidate: 0,
      sunset_confirmed: 0,
      eligible: o.servers.length,
      pending: (o.pendingServers ?? []).length,
      rejected: 0,
    },
    drift_pct: driftPct,
    drift_priority: priority,
    priority,
    new_servers: newServers.map((name) => ({
      name,
      profile: 'web',
      first_seen: '2026-11-01T00:00:00.000Z',
      samples: 2000,
      history_days: 25,
    })),
    sunset_servers: sunset.map((name) => ({
      name,
      profile: 'web',
      last_seen: null,
      days_silent: null,
      status: 'absent',
    })),
    silent_servers: [],
    pending_servers: (o.pendingServers ?? []).map((name) => ({
      name,
      profile: 'web',
      first_seen: '2026-11-24T00:00:00.000Z',
      samples: 100,
      history_days: 2,
      eligible_at: null,
      reason: 'too little history',
    })),
    rejected_servers: [],
    unknown_rate: { unknown: 12, total: 400, rate_pct: 3, level: 'acceptable', source: 'fixture' },
    model_age_days: 37,
    stale: true,
    thresholds: {
      low_drift_pct: 10,
      medium_drift_pct: 20,
      high_drift_above_pct: 35,
      unknown_warning_pct: 5,
      unknown_critical_above_pct: 15,
      max_model_age_days: 30,
      offline_hours: 24,
      sunset_candidate_days: 7,
      sunset_confirmed_days: 30,
      minimum_history_days: 7,
      minimum_samples: 1000,
    },
    decision: { retrain, priority, reasons },
    reasons,
    manifest: manifestOf(o.servers),
    manifest_change: { compared_with: null, changed: null, added: [], removed: [], profile_changed: [] },
    warnings: [],
  };
}
