import { cp, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Workspace } from '../forge/git-workspace.js';
import type { CommitAuthor, Forge } from '../forge/types.js';
import { checkDeployable } from '../model/deploy-check.js';
import { CHECKSUMS_FILE } from '../registry/checksums.js';
import { modelDir as modelDirOf, pointerPath } from '../registry/layout.js';
import { deploy as deployPointer, readPointer } from '../registry/pointer.js';
import { readJsonFile as readJson } from '../core/read-json.js';
import { GateError, InputError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { listServers, vocabularyCoverage } from '../fleet/coverage.js';
import { readManifest } from '../fleet/manifest.js';
import { deployCommitMessage } from './deploy-commit.js';
import { landCommit } from './land-commit.js';
import { automatedDeployRefusal, rolledBackModels } from './deploy-history.js';
import { headlineQRisk, ValidationFigures } from './validation-summary.js';
import { readLiveRecord, type ServiceAccess } from './live-record.js';

export interface ModelDeployRequest {
  git: Workspace;
  /**
   * Lands the commit on `branch` (land-commit.ts): signed through the GitHub API, or the local
   * forge. Without one (a command run by a person) the commit is pushed with git, or kept local.
   */
  forge?: Forge;
  /** The repository's work tree (the registry lives inside it). */
  repoDir: string;
  registry: string;
  /** The validated model directory: already in the registry, or an artifact to copy in. */
  modelDir: string;
  reason: string;
  /** Author of the local commit (the landed one is the forge's: GitHub signs only its own). */
  bot: CommitAuthor;
  branch: string;
  runUrl?: string;
  /**
   * The fleet manifest in the work tree (default `fleet/manifest.json`): the model must cover it.
   * A manifest merged after the model was trained makes the deploy fail; the reconcile loop
   * retrains for the new manifest.
   */
  manifest?: string;
  /** More lines for the commit body and trailers (a candidate promotion's evidence). */
  extra?: { lines: string[]; trailers: string[] };
  /** Without a forge: push the commit to origin `branch` (default true; false leaves it local). */
  push?: boolean;
  /**
   * The inference service, to record in the commit the live accuracy the outgoing model reached
   * while serving; without a URL the commit says there is no live record.
   */
  service?: ServiceAccess;
}

export type ModelDeployResult =
  | {
      deployed: true;
      modelId: string;
      previousModelId: string | null;
      commitSha: string;
      subject: string;
      fleetSize: number;
      coveragePct: number;
      qRisk: number | null;
    }
  | { deployed: false; modelId: string; previousModelId: string | null; skippedReason: string };

/**
 * The deploy step of the pipeline, shared by the deploy action and the local demo: checks the
 * model exactly as `fleetcast deploy` does (src/model/deploy-check.ts: SHA256SUMS, onnxruntime
 * load, a finite sample forecast of the promised shape, passed validation; never forced), applies
 * the rollback-respect rule, copies the model into the registry, bumps current.json under the
 * pointer lock (the copy must have the checked digest), and lands both in one commit through the
 * forge (a fast-forward of `branch`, signed on GitHub).
 */
export async function commitModelDeploy(request: ModelDeployRequest): Promise<ModelDeployResult> {
  const { git, repoDir, registry } = request;
  const checked = await checkDeployable(request.modelDir);
  const modelId = checked.modelId;
  await assertCoversManifest(
    checked.vocabulary,
    modelId,
    join(repoDir, request.manifest ?? DEFAULT_MANIFEST),
  );
  // The figures the commit message quotes; checkDeployable already required a passed report of this model.
  const validation = await readJson(join(request.modelDir, 'validation.json'), ValidationFigures);

  const pointerRel = relative(repoDir, pointerPath(registry));
  const before = await readPointer(registry);
  const refusal = automatedDeployRefusal(modelId, rolledBackModels(await git.history(pointerRel)));
  if (refusal !== undefined || before?.model_id === modelId) {
    return {
      deployed: false,
      modelId,
      previousModelId: before?.model_id ?? null,
      skippedReason: refusal ?? `${modelId} is already deployed`,
    };
  }

  const target = modelDirOf(registry, modelId);
  if (resolve(target) !== resolve(request.modelDir)) await copyModel(request.modelDir, target);
  await deployPointer(registry, modelId, request.reason, {
    check: async (copy) => {
      if (copy.digest !== checked.digest)
        throw new InputError(
          `${copy.dir}: SHA256SUMS differs from the checked ${request.modelDir} (${copy.digest.slice(0, 12)}… vs ${checked.digest.slice(0, 12)}…)`,
        );
    },
  });
  const qRisk = headlineQRisk(validation);
  const previousLive =
    before === null ? undefined : await readLiveRecord(before.model_id, request.service ?? {});
  const message = deployCommitMessage({
    ...(previousLive === undefined ? {} : { previousLive }),
    modelId,
    previousModelId: before?.model_id ?? null,
    fleetSize: validation.manifest_servers,
    coveragePct: validation.coverage.percent,
    qRisk,
    registryDir: relative(repoDir, registry) || '.',
    reason: request.reason,
    ...(request.runUrl ? { runUrl: request.runUrl } : {}),
    ...(request.extra ? { extra: request.extra } : {}),
  });
  await git.commit([relative(repoDir, target), pointerRel], message, request.bot);
  let commitSha: string;
  if (request.forge !== undefined) {
    commitSha = await landCommit(request.forge, git, request.branch);
  } else {
    if (request.push ?? true) await git.push(request.branch, request.bot);
    commitSha = await git.head();
  }
  return {
    deployed: true,
    modelId,
    previousModelId: before?.model_id ?? null,
    commitSha,
    subject: message.split('\n')[0]!,
    fleetSize: validation.manifest_servers,
    coveragePct: validation.coverage.percent,
    qRisk,
  };
}

const DEFAULT_MANIFEST = 'fleet/manifest.json';

/** Refuses a model whose vocabulary misses a server of the current manifest (the coverage rule). */
async function assertCoversManifest(
  vocabulary: ReadonlySet<string>,
  modelId: string,
  manifestPath: string,
): Promise<void> {
  if (!(await pathExists(manifestPath))) return;
  const manifest = await readManifest(manifestPath);
  const coverage = vocabularyCoverage(
    manifest.servers.map((s) => s.name),
    vocabulary,
  );
  if (coverage.missing.length > 0)
    throw new GateError(
      `${modelId} does not cover the fleet manifest ${manifestPath}: ${coverage.missing.length} of ${coverage.intended} servers missing (${listServers(coverage.missing)}); ` +
        'the manifest changed after the model was trained: retrain for it (the reconcile loop dispatches one)',
    );
}

/** Copies a model into the registry; an existing directory must hold the same files. */
async function copyModel(from: string, target: string): Promise<void> {
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await cp(from, target, { recursive: true, errorOnExist: true, force: false });
    return;
  }
  const same =
    (await readFile(join(target, CHECKSUMS_FILE), 'utf8')) ===
    (await readFile(join(from, CHECKSUMS_FILE), 'utf8'));
  if (!same) throw new InputError(`${target} already exists with different contents`);
}
