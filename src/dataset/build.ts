import type { DuckDBConnection } from '@duckdb/node-api';
import { SERVER_COLUMN, TIMESTAMP_COLUMN } from '../metrics/contract.js';
import { ContractView } from '../metrics/contract-view.js';
import { withDuckDb } from '../metrics/duckdb.js';
import { resolveMetricSet, type MetricColumn } from '../metrics/metric-set.js';
import { assertColumns } from '../metrics/open.js';
import { renderValidationText, validateOn } from '../fleet/check-data.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../fleet/eligibility.js';
import type { MetricsSource } from '../metrics/source.js';
import { assertServerName } from '../core/server-name.js';
import type { ServerMapping } from '../registry/schemas.js';
import { InputError } from '../core/errors.js';
import { queryResampled, toDenseSeries } from '../features/resample.js';
import { assembleDataset, checkServerSeries, type DatasetServerInput } from './assemble.js';
import { type Dataset, writeDataset } from './format.js';
import { DEFAULT_HOLDOUT, type HoldoutOptions } from './holdout.js';
import { DEFAULT_QUALITY, describeProblems, type QualityOptions, type QualityProblem } from './quality.js';
import { datasetWindow, isoOfEpoch as iso } from './window.js';

export interface BuildDatasetOptions {
  source: MetricsSource;
  /** The servers to train on (the manifest); every one must have usable data. */
  servers: readonly DatasetServerInput[];
  /** Embedding index of every server (assignServerIndices). */
  mapping: ServerMapping;
  resolutionSeconds: number;
  lookbackSteps: number;
  horizonSteps: number;
  /** Days of history (default 30). */
  days?: number;
  /** End of the window (exclusive); default: just after the newest sample of the manifest servers. */
  end?: Date;
  /** Longest gap, in steps, that forward filling bridges (default: one hour). */
  fillLimitSteps?: number;
  /** Days at the end held out for validation (default 2, at least one horizon). */
  heldOutDays?: number;
  holdout?: HoldoutOptions;
  /** Use exactly these holdout servers instead of choosing them (evaluating an existing model). */
  holdoutServers?: ReadonlySet<string>;
  /** 'throw' (training: default) stops on any bad server; 'skip' leaves bad servers out and reports them. */
  onProblem?: 'throw' | 'skip';
  quality?: QualityOptions;
  /**
   * What to read: the targets and every feature (targets first) with its range and scaling. Default:
   * the source's metric set (resolveMetricSet); an existing model's come from its encoders.json.
   */
  metrics?: DatasetMetrics;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  now?: Date;
}

export interface BuildDatasetResult {
  dataset: Dataset;
  /** Values filled by forward filling, and values still missing after it. */
  filled: number;
  missing: number;
  rows: number;
  seconds: number;
  /** Servers left out in 'skip' mode, with why. */
  skipped: QualityProblem[];
}

export interface DatasetMetrics {
  targets: readonly string[];
  features: readonly MetricColumn[];
}

export const DEFAULT_DAYS = 30;
export const DEFAULT_HELD_OUT_DAYS = 2;

/**
 * Builds the training dataset (the design's Phase 2): the last `days` of the manifest servers'
 * metrics, resampled to the profile's resolution (mean per bucket), checked against the data
 * contract and the history requirements, short gaps forward-filled, holdout servers chosen and the
 * held-out window split off (assemble.ts). Bad data stops here with an InputError naming every bad
 * server, before any training starts.
 */
export async function buildDataset(options: BuildDatasetOptions): Promise<BuildDatasetResult> {
  const started = Date.now();
  const progress = options.progress ?? (() => {});
  const { res, days, names, fillLimit } = checkRequest(options);
  const now = options.now ?? new Date();
  // Readers see the contract view: absent metrics NULL, non-finite NULL, out-of-range clipped.
  const source = options.source instanceof ContractView ? options.source : new ContractView(options.source);

  return withDuckDb(async (conn) => {
    // Checks the columns first (one DESCRIBE, in prepare), so a source outside the data contract
    // fails with a clear message.
    await source.prepare(conn);
    assertColumns(source.raw, source.rawColumns(), [TIMESTAMP_COLUMN, SERVER_COLUMN]);
    let metrics = options.metrics;
    if (metrics === undefined) {
      const resolved = resolveMetricSet(source.metricSet, source.sourceColumns(), source.description);
      for (const note of resolved.notes) progress(`dataset: ${note}`);
      metrics = resolved;
    }
    const features = metrics.features.map((f) => f.name);
    if (options.onProblem !== 'skip') await assertDataContract(conn, source.raw, now, progress);
    const window = await datasetWindow(conn, source, names, {
      resolutionSeconds: res,
      days,
      end: options.end,
    });
    progress(
      `dataset: reading ${names.length} servers from ${source.description}, ` +
        `${iso(window.startEpoch)} to ${iso(window.endStep * res)} at ${res}s (${window.nSteps} steps)`,
    );
    const rows = await queryResampled(conn, source, {
      servers: names,
      features,
      resolutionSeconds: res,
      startStep: window.startStep,
      endStep: window.endStep,
    });
    progress(`dataset: ${rows.servers.length} resampled rows for ${new Set(rows.servers).size} servers`);
    const dense = toDenseSeries(rows, features.length, window.startStep, window.endStep);

    const quality = options.quality ?? DEFAULT_QUALITY;
    const { problems, profiles } = checkServerSeries(options.servers, dense, features, window, res, quality);
    if (problems.length && options.onProblem !== 'skip') {
      const servers = new Set(problems.map((p) => p.server)).size;
      throw new InputError(
        `training data from ${source.description} fails the checks for ${servers} of ${names.length} manifest servers; nothing was trained:\n${describeProblems(problems)}`,
      );
    }
    const built = assembleDataset({
      names,
      dense,
      profiles,
      problems,
      features,
      metrics,
      window,
      mapping: options.mapping,
      resolutionSeconds: res,
      lookbackSteps: options.lookbackSteps,
      horizonSteps: options.horizonSteps,
      heldOutDays: options.heldOutDays ?? DEFAULT_HELD_OUT_DAYS,
      fillLimit,
      holdout: options.holdout ?? DEFAULT_HOLDOUT,
      holdoutServers: options.holdoutServers,
      source: source.description,
      now,
    });
    const { header } = built.dataset;
    progress(
      `dataset: ${header.servers.length} servers (${built.holdout.size} holdout), ${window.nSteps} steps, ${built.filled} values forward-filled, ` +
        `${built.missing} still missing; held-out window from step ${header.split.train_end_step} (${iso(window.startEpoch + header.split.train_end_step * res)})`,
    );
    return {
      dataset: built.dataset,
      filled: built.filled,
      missing: built.missing,
      rows: rows.servers.length,
      seconds: (Date.now() - started) / 1000,
      skipped: problems,
    };
  });
}

/** The request's own checks, before any data is read: resolution, days, names, mapping. */
function checkRequest(options: BuildDatasetOptions) {
  const res = options.resolutionSeconds;
  if (86400 % res !== 0) throw new InputError(`resolution ${res}s does not divide a day`);
  const days = options.days ?? DEFAULT_DAYS;
  if (!(days > 0)) throw new InputError(`--days must be positive, got ${days}`);
  const names = options.servers.map((s, i) => assertServerName(s.name, `manifest server #${i + 1}`));
  if (names.length === 0) throw new InputError('the manifest lists no servers; nothing to train on');
  if (new Set(names).size !== names.length) throw new InputError('the manifest lists a server twice');
  for (const name of names)
    if (options.mapping.servers[name] === undefined)
      throw new Error(`server mapping has no index for ${name}`);
  return { res, days, names, fillLimit: options.fillLimitSteps ?? Math.ceil(3600 / res) };
}

/**
 * The data contract (src/fleet row-level validation: NULLs, ranges, duplicates, names, profile
 * conflicts). Any error stops training here.
 */
async function assertDataContract(
  conn: DuckDBConnection,
  source: MetricsSource,
  now: Date,
  progress: (line: string) => void,
): Promise<void> {
  progress(`dataset: checking ${source.description} against the data contract`);
  const report = await validateOn(conn, source, { now, eligibility: DEFAULT_ELIGIBILITY_POLICY });
  if (!report.ok)
    throw new InputError(
      `training data from ${source.description} breaks the data contract; nothing was trained:\n${renderValidationText(report).trimEnd()}`,
    );
}

/** Builds the dataset and writes it into `dir` (atomically). */
export async function buildDatasetDir(
  dir: string,
  options: BuildDatasetOptions,
): Promise<BuildDatasetResult> {
  const result = await buildDataset(options);
  await writeDataset(dir, result.dataset);
  options.progress?.(`dataset: wrote ${dir} in ${result.seconds.toFixed(1)}s`);
  return result;
}
