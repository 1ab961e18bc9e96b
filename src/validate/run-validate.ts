import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULT_DAYS } from '../dataset/build.js';
import { writeDataset } from '../dataset/format.js';
import { readManifest } from '../fleet/manifest.js';
import { ContractView } from '../metrics/contract-view.js';
import { loadMetricSetConfig } from '../metrics/metric-set.js';
import { openMetricsSource } from '../metrics/source.js';
import { asOf, ignoredRowsNote, rowsAfter } from '../metrics/as-of.js';
import { loadModel } from '../model/loaded-model.js';
import { POINTER_FILE, MODELS_DIR } from '../registry/layout.js';
import { readModelMetadata } from '../registry/read-model.js';
import { loadBaseline } from '../model/deployed.js';
import { getErrorMessage, InputError } from '../core/errors.js';
import { buildEvaluationData } from './evaluation-data.js';
import type { GateConfig } from './gates.js';
import type { PeerName } from './peer-request.js';
import type { PeerRunOptions } from './peer-run.js';
import type { ValidationReport } from './report.js';
import { validateModel } from './validate-model.js';

export interface ValidateDirOptions {
  modelDir: string;
  manifest: string;
  metrics?: string;
  /** The metric set file (default config/metric_set.json when present): its profile column. */
  metricSet?: string;
  gates: GateConfig;
  /** Compare with this model; default: the deployed model of the registry the model dir sits in. */
  baselineModel?: string;
  registry?: string;
  /** As of (`--now`): samples after it are ignored; coverage and accuracy use the data up to it. */
  now?: Date;
  /**
   * Peer forecasters to fit and score beside the model (`--peers`, docs/peers.md). The evaluation
   * data then holds `peerDays` (default 30) days of history, which the peers fit on.
   */
  peers?: readonly PeerName[];
  peerDays?: number;
  progress: (line: string) => void;
}

/**
 * `fleetcast validate`: verifies SHA256SUMS, loads the model, and runs coverage, convergence and
 * (with --metrics) accuracy on the newest held-out days of the metrics.
 */
export async function validateModelDir(options: ValidateDirOptions): Promise<ValidationReport> {
  const dir = resolve(options.modelDir);
  const meta = await readModelMetadata(dir);
  const manifest = await readManifest(options.manifest);
  const allRows = options.metrics ? openMetricsSource(options.metrics) : null;
  const source = allRows
    ? new ContractView(asOf(allRows, options.now), await loadMetricSetConfig(options.metricSet))
    : null;
  const model = await loadModel(dir, { expectedDigest: meta.digest });
  const registry = options.registry ?? registryAround(dir);
  const baseline = await loadBaseline(registry, options.baselineModel ?? null);
  if (baseline.note) options.progress(`validate: ${baseline.note}`);
  const deployed = baseline.model && baseline.model.id !== model.id ? baseline.model : null;
  const peerNames = options.peers ?? [];
  const peerWork = source && peerNames.length > 0 ? await mkdtemp(join(tmpdir(), 'fleetcast-peers-')) : null;
  try {
    let peers: PeerRunOptions | null = null;
    let evaluation = null;
    let evaluationNote = 'no --metrics given: accuracy not measured';
    if (source) {
      try {
        if (allRows && options.now !== undefined) {
          const note = ignoredRowsNote(await rowsAfter(allRows, options.now), options.now);
          if (note !== null) options.progress(`validate: ${note}`);
        }
        const data = await buildEvaluationData(
          source,
          manifest.servers,
          meta.encoders,
          meta.mapping,
          new Set(meta.trainingInfo.data.holdout_servers),
          {
            ...(options.now ? { end: options.now } : {}),
            ...(peerWork ? { days: options.peerDays ?? DEFAULT_DAYS } : {}),
            progress: options.progress,
          },
        );
        if (peerWork) {
          const datasetDir = join(peerWork, 'dataset');
          await writeDataset(datasetDir, data.dataset);
          peers = {
            peers: peerNames,
            datasetDir,
            outDir: join(peerWork, 'peers'),
            progress: options.progress,
          };
        }
        for (const s of data.skipped)
          options.progress(`validate: ${s.server} left out of accuracy: ${s.problem}`);
        evaluation = { dataset: data.dataset, holdout: new Set(meta.trainingInfo.data.holdout_servers) };
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        evaluationNote = `accuracy not measured: ${getErrorMessage(error)}`;
      }
    }
    return await validateModel({
      model,
      trainingInfo: meta.trainingInfo,
      trainerConvergence: meta.trainingInfo.metrics.convergence ?? null,
      manifestServers: manifest.servers.map((s) => s.name),
      source,
      evaluation,
      evaluationNote,
      deployed,
      peers,
      gates: options.gates,
      ...(options.now ? { end: options.now } : {}),
      progress: options.progress,
    });
  } finally {
    if (peerWork) await rm(peerWork, { recursive: true, force: true });
    await model.release();
    await baseline.model?.release();
  }
}

/** `<registry>` when `dir` is `<registry>/models/<id>` and the registry has a pointer. */
function registryAround(dir: string): string | null {
  const models = dirname(dir);
  if (basename(models) !== MODELS_DIR) return null;
  const registry = dirname(models);
  return existsSync(join(registry, POINTER_FILE)) ? registry : null;
}
