import { readFile } from 'node:fs/promises';
import type { LoadedConfig } from '../config/retrain-config.js';
import type { EventLog } from '../core/events-log.js';
import type { MetricsSource } from '../metrics/source.js';
import { readManifestIfExists, writeManifest, type Manifest } from '../fleet/manifest.js';
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
  manifest: Manifest;
  warnings: string[];
}

/** Recomputes the manifest from the metrics and writes it atomically when its bytes change. */
export async function updateManifest(options: ManifestUpdateOptions): Promise<ManifestUpdateResult> {
  const path = options.manifest;
  const current = await readManifestIfExists(path);
  const { fleet, report } = await runFleetStatus(options);
  const text = current === null ? null : await readFile(path, 'utf8');
  const { manifest, delta } = proposeManifestFile({ path, manifest: current, text }, fleet);
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
    manifest,
    warnings: report.warnings,
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
        now: report.now,
        source: report.source,
      },
    });
  return result;
}
