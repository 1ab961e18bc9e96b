import type { FleetServer } from '../fleet/assess.js';
import {
  proposeManifest,
  renderManifest,
  type HeldChange,
  type Manifest,
  type ManifestChange,
  type ProposeOptions,
} from '../fleet/manifest.js';
import type { DriftReport, ManifestDelta } from './types.js';

/**
 * The proposed manifest: the one owner of "which fleet/manifest.json the fleet implies, and how it
 * differs from the file there now". The drift report, `fleetcast manifest` and the drift pull
 * request all take it from here. Membership itself (eligible, not sunset-confirmed, first_seen
 * kept) is fleet/manifest.ts's `proposeManifest`.
 */

/** The manifest file a proposal is compared with. */
export interface CurrentManifest {
  path: string;
  /** Its content, or null when the file does not exist yet. */
  manifest: Manifest | null;
  /** Its bytes, when read; without them the file is taken to be in canonical form. */
  text?: string | null;
}

export interface ManifestProposal {
  manifest: Manifest;
  /** The canonical bytes of `manifest`: what the file and the drift pull request's commit hold. */
  text: string;
  /** Servers added, removed and with a changed profile, against the current manifest. */
  change: ManifestChange;
  /** What the report says about the change (names only). */
  delta: ManifestDelta;
  /** Changes bad or conflicting rows kept out of the manifest (fleet/manifest.ts). */
  held: HeldChange[];
}

/**
 * The manifest `fleet` implies, compared with `current` (null: no file to compare with).
 * `delta.changed` says whether writing the proposal would change the file's bytes. Pure.
 */
export function proposeManifestFile(
  current: CurrentManifest | null,
  fleet: readonly FleetServer[],
  options: ProposeOptions = {},
): ManifestProposal {
  const change = proposeManifest(current?.manifest ?? null, fleet, options);
  const text = renderManifest(change.manifest);
  return {
    manifest: change.manifest,
    text,
    change,
    delta: {
      compared_with: current?.path ?? null,
      changed: current === null ? null : currentText(current) !== text,
      added: change.added.map((s) => s.name),
      removed: change.removed.map((s) => s.name),
      profile_changed: change.changed.map(([, after]) => after.name),
    },
    held: change.held,
  };
}

function currentText(current: CurrentManifest): string | null {
  if (current.manifest === null) return null;
  return current.text ?? renderManifest(current.manifest);
}

/** A drift report's proposed manifest as the bytes a pull request commits. */
export function proposedManifestText(report: Pick<DriftReport, 'manifest'>): string {
  return renderManifest(report.manifest);
}
