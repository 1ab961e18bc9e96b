import { readFile } from 'node:fs/promises';
import { statusPolicyOf, type LoadedConfig } from '../config/retrain-config.js';
import type { EventLog } from '../core/events-log.js';
import { preview } from '../core/server-name.js';
import type { MetricsSource } from '../metrics/source.js';
import { assessUnprofiled, type FleetServer } from '../fleet/assess.js';
import { readManifestIfExists, writeManifest, type HeldChange, type Manifest } from '../fleet/manifest.js';
import { runFleetStatus } from './fleet-report.js';
import { proposeManifestFile } from './manifest-proposal.js';

export interface ManifestUpdateOptions {
  metrics: string | MetricsSource;
  manifest: string;
  now?: Date;
  config?: string | LoadedConfig;
  /** Report what would change without writing. */
  dryRun?: boolean;
  events?: EventLog | null;
  threads?: number;
}

export interface ManifestUpdateResult {
  path: string;
  changed: boolean;
  written: boolean;
  servers: number;
  added: string[];
  removed: string[];
  profile_changed: string[];
  /**
   * Changes the metrics asked for but bad or conflicting rows kept out (docs/fleet.md): the
   * manifest keeps the listed entry (or leaves a new server out). Non-empty → the CLI exits 3.
   */
  held: HeldChange[];
  manifest: Manifest;
  warnings: string[];
}

/**
 * Recomputes the manifest from the metrics and writes it atomically when its bytes change. What
 * is written never depends on bad rows: changes they would cause are `held` and reported instead.
 */
export async function updateManifest(options: ManifestUpdateOptions): Promise<ManifestUpdateResult> {
  const path = options.manifest;
  const current = await readManifestIfExists(path);
  const { fleet, report, summary, config } = await runFleetStatus(options);
  const text = current === null ? null : await readFile(path, 'utf8');
  const unprofiled = assessUnprofiled(summary.rejected, new Date(report.now), statusPolicyOf(config.config));
  const { manifest, delta, held } = proposeManifestFile({ path, manifest: current, text }, fleet, {
    unprofiled,
  });
  const changed = delta.changed === true;
  const written = changed && !options.dryRun;
  if (written) await writeManifest(path, manifest);
  const result: ManifestUpdateResult = {
    path,
    changed,
    written,
    servers: manifest.servers.length,
    added: delta.added,
    removed: delta.removed,
    profile_changed: delta.profile_changed,
    held,
    manifest,
    warnings: [...report.warnings, ...rowWarnings(fleet)],
  };
  if (!options.dryRun)
    await options.events?.append({
      event: changed ? 'manifest_updated' : 'manifest_unchanged',
      data: {
        path: result.path,
        servers: result.servers,
        added: result.added.length,
        removed: result.removed.length,
        profile_changed: result.profile_changed.length,
        held: held.length,
        now: report.now,
        source: report.source,
      },
    });
  return result;
}

/** One warning per server with rows of an invalid profile or with rows that disagree on it. */
function rowWarnings(fleet: readonly FleetServer[]): string[] {
  return fleet.flatMap((s) => {
    const lines: string[] = [];
    if (s.invalidProfile)
      lines.push(
        `${s.name}: ${s.invalidProfile.samples} rows with an invalid profile (${s.invalidProfile.values.map((v) => preview(v)).join(', ')}) ` +
          `were ignored; its profile ${s.profile} comes from its valid rows`,
      );
    if (s.profileUnsettled)
      lines.push(
        `${s.name}: its rows carry ${s.profile} since ${s.profileUnsettled.since.toISOString()}, after ${s.profileUnsettled.others.join(', ')}`,
      );
    return lines;
  });
}
