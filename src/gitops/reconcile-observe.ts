import { posix } from 'node:path';
import { parseJsonText } from '../core/read-json.js';
import { getErrorMessage } from '../core/errors.js';
import { vocabularyCoverage } from '../fleet/coverage.js';
import { parseManifest } from '../fleet/manifest.js';
import type { CommitStatus, Forge, WorkflowRun } from '../forge/types.js';
import { sha256Text } from '../registry/checksums.js';
import { MODEL_FILES } from '../registry/model-files.js';
import { MODELS_DIR, POINTER_FILE } from '../registry/layout.js';
import { parsePointer } from '../registry/pointer.js';
import { Encoders } from '../registry/schemas.js';
import { isAutomaticRollback } from './deploy-commit.js';
import { classifyPointerCommit } from './deploy-history.js';
import { requestedBy } from './trailers.js';
import { VERIFY_STATUS_CONTEXT } from './verify-report.js';

/**
 * What the reconcile loop sees each run: the desired state (the manifest on the default branch),
 * the actual state (the deployed model's vocabulary from the registry pointer on the same branch,
 * and what the service says it serves), the latest pointer change, and the retrain runs.
 */
export interface Observation {
  baseSha: string;
  manifestText: string;
  manifestSha256: string;
  manifestServers: string[];
  modelId: string | null;
  vocabularySize: number;
  /** Manifest servers outside the deployed model's vocabulary (the coverage rule), sorted. */
  missing: string[];
  served: { modelId: string | null } | { error: string } | undefined;
  /** The latest pointer commit is a person's rollback made while the manifest was what it is now. */
  heldBy: { sha: string; by: string; models: string[] } | undefined;
  /** The retrain workflow's recent runs, newest first. */
  runs: WorkflowRun[];
  /**
   * When the latest pointer commit is a deploy made by a workflow run (its message names the run),
   * the `fleetcast/verify` status verify set on it (`none`: verify never reported: cancelled,
   * timed out, or a token that may not write statuses). Undefined for any other pointer commit.
   */
  deployVerification: { sha: string; state: CommitStatus['state'] | 'none' } | undefined;
}

export interface ObserveSettings {
  base: string;
  manifestPath: string;
  /** Registry directory in the repository (`models-registry`). */
  registryPath: string;
  workflow: string;
  serviceUrl?: string | undefined;
  serviceToken?: string | undefined;
  fetch?: typeof fetch;
}

const HISTORY_LIMIT = 50;
const RUNS_LIMIT = 20;

export async function observe(forge: Forge, settings: ObserveSettings): Promise<Observation> {
  const baseSha = await forge.getBranchSha(settings.base);
  if (baseSha === undefined) throw new Error(`base branch ${settings.base} does not exist`);
  // No manifest on the base branch yet (before the first drift PR is merged): nothing is desired.
  const manifestText = (await forge.readFile(baseSha, settings.manifestPath)) ?? '';
  const manifestServers =
    manifestText === ''
      ? []
      : parseManifest(manifestText, `${settings.base}:${settings.manifestPath}`).servers.map((s) => s.name);

  const pointerFile = posix.join(settings.registryPath, POINTER_FILE);
  const pointerText = await forge.readFile(baseSha, pointerFile);
  let modelId: string | null = null;
  let vocabulary = new Set<string>();
  if (pointerText !== undefined) {
    modelId = parsePointer(pointerText, `${settings.base}:${pointerFile}`).model_id;
    const encodersFile = posix.join(settings.registryPath, MODELS_DIR, modelId, MODEL_FILES.encoders);
    const encodersText = await forge.readFile(baseSha, encodersFile);
    // A pointer at a model whose files are missing covers nothing: retraining is the cure.
    if (encodersText !== undefined)
      vocabulary = new Set(
        Object.keys(
          parseJsonText(encodersText, `${settings.base}:${encodersFile}`, Encoders).server_id.classes,
        ),
      );
  }
  const coverage = vocabularyCoverage(manifestServers, vocabulary);

  const history = await forge.fileHistory(baseSha, pointerFile, HISTORY_LIMIT);
  const heldBy = await personRollback(forge, history, settings.manifestPath, manifestText);
  const runs = await forge.listWorkflowRuns(settings.workflow, RUNS_LIMIT);
  const deployVerification = await verificationOf(forge, history);
  const served =
    settings.serviceUrl === undefined ? undefined : await readHealth(settings.serviceUrl, settings);
  return {
    baseSha,
    manifestText,
    manifestSha256: sha256Text(manifestText),
    manifestServers: [...new Set(manifestServers)].sort(),
    modelId,
    vocabularySize: vocabulary.size,
    missing: coverage.missing,
    served,
    heldBy,
    runs,
    deployVerification,
  };
}

/** The verify status of the latest pointer commit, when a workflow's deploy job made it. */
async function verificationOf(
  forge: Forge,
  historyNewestFirst: Awaited<ReturnType<Forge['fileHistory']>>,
): Promise<Observation['deployVerification']> {
  const latest = historyNewestFirst[0];
  if (latest === undefined) return undefined;
  const event = classifyPointerCommit(latest, new Map(historyNewestFirst.map((c) => [c.sha, c])));
  // A deploy by hand (`fleetcast deploy`) names no run and has no verify job to wait for.
  if (event.kind !== 'deploy' || !/^Run: \S+/m.test(latest.message)) return undefined;
  const status = await forge.commitStatus(latest.sha, VERIFY_STATUS_CONTEXT);
  return { sha: latest.sha, state: status?.state ?? 'none' };
}

/**
 * The rollback-respect rule, for the loop: when the latest pointer change is a person's revert of
 * a deploy or rollback (not verify's automatic one) and the manifest is still the one of that
 * moment, the person decided against the model this manifest produced; retraining for the same
 * manifest would undo that decision. A new manifest, or a deploy by hand, lifts the hold.
 */
async function personRollback(
  forge: Forge,
  historyNewestFirst: Awaited<ReturnType<Forge['fileHistory']>>,
  manifestPath: string,
  manifestText: string,
): Promise<Observation['heldBy']> {
  const latest = historyNewestFirst[0];
  if (latest === undefined) return undefined;
  const event = classifyPointerCommit(latest, new Map(historyNewestFirst.map((c) => [c.sha, c])));
  if (event.kind !== 'revert-deploy' && event.kind !== 'rollback') return undefined;
  if (isAutomaticRollback(latest.message)) return undefined;
  if ((await forge.readFile(latest.sha, manifestPath)) !== manifestText) return undefined;
  return { sha: latest.sha, by: requestedBy(latest), models: event.rolledBack };
}

async function readHealth(
  serviceUrl: string,
  settings: Pick<ObserveSettings, 'serviceToken' | 'fetch'>,
): Promise<{ modelId: string | null } | { error: string }> {
  const doFetch = settings.fetch ?? fetch;
  try {
    const response = await doFetch(`${serviceUrl.replace(/\/+$/, '')}/health`, {
      headers: settings.serviceToken ? { authorization: `Bearer ${settings.serviceToken}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) return { error: `GET /health answered ${response.status}` };
    const body = (await response.json()) as { model_id?: unknown };
    return { modelId: typeof body.model_id === 'string' ? body.model_id : null };
  } catch (error) {
    return { error: `GET /health failed: ${getErrorMessage(error)}` };
  }
}
