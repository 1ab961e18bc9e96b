import { readFile } from 'node:fs/promises';
import type { LoadedConfig } from '../config/retrain-config.js';
import type { EventLog } from '../core/events-log.js';
import type { MetricsSource } from '../metrics/source.js';
import {
  proposeManifest,
  readManifestIfExists,
  renderManifest,
  writeManifest,
  type Manifest,
} from '../fleet/manifest.js';
import { runFleetStatus } from './fleet-report.js';

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
  const current = await readManifestIfExists(options.manifest);
  const { fleet, report } = await runFleetStatus(options);
  const change = proposeManifest(current, fleet);
  const before = current === null ? null : await readFile(options.manifest, 'utf8');
  const changed = before !== renderManifest(change.manifest);
  const written = changed && !options.dryRun;
  if (written) await writeManifest(options.manifest, change.manifest);
  const result: ManifestUpdateResult = {
    path: options.manifest,
    changed,
    written,
    servers: change.manifest.servers.length,
    added: change.added.map((s) => s.name),
    removed: change.removed.map((s) => s.name),
    profile_changed: change.changed.map(([, after]) => after.name),
    manifest: change.manifest,
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
