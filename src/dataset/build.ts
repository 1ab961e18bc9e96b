import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import {
  METRIC_NAMES,
  PROFILE_COLUMN,
  PROFILE_PATTERN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
} from '../metrics/contract.js';
import { withDuckDb } from '../metrics/duckdb.js';
import { assertColumns, openSource } from '../metrics/open.js';
import { renderValidationText, validateOn } from '../fleet/check-data.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../fleet/eligibility.js';
import type { MetricsSource } from '../metrics/source.js';
import { assertServerName } from '../core/server-name.js';
import type { ServerMapping } from '../registry/schemas.js';
import { InputError } from '../core/errors.js';
import { type Dataset, type DatasetHeader, writeDataset } from './format.js';
import { chooseHoldout, DEFAULT_HOLDOUT, type HoldoutOptions } from './holdout.js';
import {
  checkSeries,
  DEFAULT_QUALITY,
  describeProblems,
  type QualityOptions,
  type QualityProblem,
} from './quality.js';
import { forwardFill, queryResampled, toDenseSeries } from '../features/resample.js';
import { computeSplit } from './split.js';

/** A server to build the dataset for: a manifest entry, whose profile may be left to the metrics. */
export interface DatasetServer {
  name: string;
  /** Used when the metrics carry no profile for the server. */
  profile?: string | null;
}

export interface BuildDatasetOptions {
  source: MetricsSource;
  /** The servers to train on (the manifest); every one must have usable data. */
  servers: readonly DatasetServer[];
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
  features?: readonly string[];
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

export const DEFAULT_DAYS = 30;
export const DEFAULT_HELD_OUT_DAYS = 2;

/**
 * Builds the training dataset (the pipeline's dataset-generation phase): the last `days` of the
 * manifest servers' metrics, resampled to the profile's resolution (mean per bucket), checked
 * against the data contract and the history requirements, short gaps forward-filled, holdout
 * servers chosen and the held-out window split off. Bad data stops here with an InputError naming
 * every bad server, before any training starts.
 */
export async function buildDataset(options: BuildDatasetOptions): Promise<BuildDatasetResult> {
  const started = Date.now();
  const progress = options.progress ?? (() => {});
  const res = options.resolutionSeconds;
  if (86400 % res !== 0) throw new InputError(`resolution ${res}s does not divide a day`);
  const days = options.days ?? DEFAULT_DAYS;
  if (!(days > 0)) throw new InputError(`--days must be positive, got ${days}`);
  const features = options.features ?? METRIC_NAMES;
  const names = options.servers.map((s, i) => assertServerName(s.name, `manifest server #${i + 1}`));
  if (names.length === 0) throw new InputError('the manifest lists no servers; nothing to train on');
  if (new Set(names).size !== names.length) throw new InputError('the manifest lists a server twice');
  for (const name of names)
    if (options.mapping.servers[name] === undefined)
      throw new Error(`server mapping has no index for ${name}`);
  const fillLimit = options.fillLimitSteps ?? Math.ceil(3600 / res);

  return withDuckDb(async (conn) => {
    // Checks the columns first, so a source outside the data contract fails with a clear message.
    assertColumns(options.source, await openSource(conn, options.source), [
      TIMESTAMP_COLUMN,
      SERVER_COLUMN,
      PROFILE_COLUMN,
      ...features,
    ]);
    if (options.onProblem !== 'skip') {
      // The data contract (src/metrics row-level validation: NULLs, ranges, duplicates, names,
      // profile conflicts). Any error stops training here.
      progress(`dataset: checking ${options.source.description} against the data contract`);
      const report = await validateOn(conn, options.source, {
        now: options.now ?? new Date(),
        eligibility: DEFAULT_ELIGIBILITY_POLICY,
      });
      if (!report.ok)
        throw new InputError(
          `training data from ${options.source.description} breaks the data contract; nothing was trained:\n${renderValidationText(report).trimEnd()}`,
        );
    }
    const endEpoch = options.end
      ? options.end.getTime() / 1000
      : await newestSample(conn, options.source, names);
    if (endEpoch === null)
      throw new InputError(
        `${options.source.description}: no rows for any of the ${names.length} manifest servers`,
      );
    // An explicit end is exclusive; the newest sample must fall inside the last bucket.
    const endStep = options.end ? Math.floor(endEpoch / res) : Math.floor(endEpoch / res) + 1;
    const nSteps = Math.round((days * 86400) / res);
    const startStep = endStep - nSteps;
    const startEpoch = startStep * res;
    progress(
      `dataset: reading ${names.length} servers from ${options.source.description}, ` +
        `${iso(startEpoch)} to ${iso(endStep * res)} at ${res}s (${nSteps} steps)`,
    );
    const rows = await queryResampled(conn, options.source, {
      servers: names,
      features,
      resolutionSeconds: res,
      startStep,
      endStep,
    });
    progress(`dataset: ${rows.servers.length} resampled rows for ${new Set(rows.servers).size} servers`);
    const dense = toDenseSeries(rows, features.length, startStep, endStep);

    const problems: QualityProblem[] = [];
    const ctx = { features, nSteps, startEpoch, resolutionSeconds: res };
    for (const name of names)
      problems.push(...checkSeries(name, dense.get(name), ctx, options.quality ?? DEFAULT_QUALITY));
    const profiles = new Map<string, string>();
    for (const s of options.servers) {
      const profile = dense.get(s.name)?.profile || s.profile || '';
      if (!PROFILE_PATTERN.test(profile))
        problems.push({
          server: s.name,
          problem: profile
            ? `invalid profile ${JSON.stringify(profile.slice(0, 40))}`
            : 'no profile in the metrics or the manifest',
        });
      profiles.set(s.name, profile);
    }
    const skip = options.onProblem === 'skip';
    if (problems.length && !skip) {
      const servers = new Set(problems.map((p) => p.server)).size;
      throw new InputError(
        `training data from ${options.source.description} fails the checks for ${servers} of ${names.length} manifest servers; nothing was trained:\n${describeProblems(problems)}`,
      );
    }

    const split = (() => {
      try {
        return computeSplit({
          nSteps,
          resolutionSeconds: res,
          lookbackSteps: options.lookbackSteps,
          horizonSteps: options.horizonSteps,
          heldOutDays: options.heldOutDays ?? DEFAULT_HELD_OUT_DAYS,
        });
      } catch (error) {
        throw new InputError((error as Error).message);
      }
    })();
    const bad = new Set(problems.map((p) => p.server));
    const kept = names.filter((n) => !bad.has(n));
    if (kept.length === 0)
      throw new InputError(`no manifest server has usable data:\n${describeProblems(problems)}`);
    const holdout =
      options.holdoutServers ??
      chooseHoldout(names, options.holdout ?? DEFAULT_HOLDOUT, (n) => profiles.get(n));
    const profileList = [...new Set(kept.map((n) => profiles.get(n)!))].sort();
    const ordered = [...kept].sort((a, b) => options.mapping.servers[a]! - options.mapping.servers[b]!);
    const F = features.length;
    const values = new Float32Array(ordered.length * nSteps * F);
    let filled = 0;
    ordered.forEach((name, row) => {
      const series = dense.get(name)!.values;
      filled += forwardFill(series, nSteps, F, fillLimit);
      values.set(series, row * nSteps * F);
    });
    let missing = 0;
    for (const v of values) if (Number.isNaN(v)) missing++;

    const header: DatasetHeader = {
      format_version: 1,
      created_at: (options.now ?? new Date()).toISOString(),
      source: options.source.description,
      start: iso(startEpoch),
      resolution_seconds: res,
      n_steps: nSteps,
      fill_limit_steps: fillLimit,
      features: [...features],
      profiles: profileList,
      servers: ordered.map((name) => ({
        name,
        index: options.mapping.servers[name]!,
        profile: profiles.get(name)!,
        profile_index: profileList.indexOf(profiles.get(name)!) + 1,
        holdout: holdout.has(name),
      })),
      split,
    };
    progress(
      `dataset: ${ordered.length} servers (${holdout.size} holdout), ${nSteps} steps, ${filled} values forward-filled, ` +
        `${missing} still missing; held-out window from step ${split.train_end_step} (${iso(startEpoch + split.train_end_step * res)})`,
    );
    return {
      dataset: { header, values },
      filled,
      missing,
      rows: rows.servers.length,
      seconds: (Date.now() - started) / 1000,
      skipped: problems,
    };
  });
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

async function newestSample(
  conn: DuckDBConnection,
  source: MetricsSource,
  servers: readonly string[],
): Promise<number | null> {
  await source.prepare(conn);
  const reader = await conn.runAndReadAll(
    `SELECT epoch(max(timestamp))::DOUBLE FROM ${source.relation()} WHERE server_name IN (SELECT unnest($servers::VARCHAR[]))`,
    { servers: listValue([...servers]) },
  );
  const value = reader.getRows()[0]?.[0];
  return typeof value === 'number' ? value : null;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
