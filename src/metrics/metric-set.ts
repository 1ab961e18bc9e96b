import { existsSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { readJsonFile } from '../core/read-json.js';
import { METRICS, PROFILE_COLUMN, SERVER_COLUMN, TIMESTAMP_COLUMN, type MetricSpec } from './contract.js';

/**
 * The metric set of a deployment (config/metric_set.json, docs/metrics.md "Metric set"): which
 * columns the TFT forecasts (targets) and which it only reads as inputs (covariates), where the
 * profile comes from, and the unit, range and scaling of columns the contract does not know.
 *
 * Every key is optional. Without targets, the targets are the default targets the source has
 * (DEFAULT_TARGETS); without covariates, every other metric column the source has. The resolved
 * set is what a model is trained on and what its encoders.json records; serving and validation
 * read it from there, never from this file.
 */
export const DEFAULT_METRIC_SET_PATH = 'config/metric_set.json';

/** Forecast by default when the source has them, in this order. */
export const DEFAULT_TARGETS: readonly string[] = ['cpu_pct', 'mem_pct', 'latency_ms'];

/** The group name of servers whose metrics and manifest entry carry no profile. */
export const DEFAULT_PROFILE = 'default';

const COLUMN_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const ColumnName = z.string().regex(COLUMN_NAME, 'column names are lowercase snake_case');

export const Scaling = z.strictObject({
  /** `log1p` for heavy-tailed rates (throughput, latency); `none` for bounded utilisations. */
  transform: z.enum(['none', 'log1p']),
  /** Smallest standard deviation used to scale a window, in transformed units (a flat series). */
  std_floor: z.number().positive(),
});
export type Scaling = z.infer<typeof Scaling>;

const ColumnSpec = z
  .strictObject({
    unit: z.string().min(1).max(32),
    description: z.string().max(200).default(''),
    min: z.number(),
    /** Omit for no ceiling. */
    max: z.number().optional(),
    /** A finite value outside [min, max]: clipped to it (default), or a missing sample. */
    out_of_range: z.enum(['clip', 'null']).default('clip'),
    ...Scaling.shape,
  })
  .refine((c) => c.max === undefined || c.max > c.min, { message: 'max must be above min' });

const MetricSetFile = z.strictObject({
  format_version: z.literal(1),
  targets: z.array(ColumnName).min(1).optional(),
  covariates: z.array(ColumnName).optional(),
  /** The text column that names each server's profile (role); default `profile`. */
  profile_column: ColumnName.optional(),
  /** Columns beyond the contract's, declared so they may be used as targets or covariates. */
  columns: z.record(ColumnName, ColumnSpec).default({}),
});
export type MetricSetFile = z.infer<typeof MetricSetFile>;

/** A metric column with everything a reader and the trainer need: range and scaling. */
export interface MetricColumn extends MetricSpec {
  readonly transform: Scaling['transform'];
  readonly std_floor: number;
}

/** Scaling of the contract's columns (the trainer standardises each window, after the transform). */
const CONTRACT_SCALING: Readonly<Record<string, Scaling>> = {
  cpu_pct: { transform: 'none', std_floor: 1.0 },
  mem_pct: { transform: 'none', std_floor: 0.5 },
  disk_io_mbps: { transform: 'log1p', std_floor: 0.05 },
  net_in_mbps: { transform: 'log1p', std_floor: 0.05 },
  net_out_mbps: { transform: 'log1p', std_floor: 0.05 },
  latency_ms: { transform: 'log1p', std_floor: 0.05 },
  error_rate: { transform: 'log1p', std_floor: 0.001 },
};

const RESERVED = new Set([TIMESTAMP_COLUMN, SERVER_COLUMN, PROFILE_COLUMN]);

/** The deployment's choices, before they meet a source's columns. */
export interface MetricSetConfig {
  /** Where it came from, for messages: the file, or "defaults". */
  readonly origin: string;
  readonly targets?: readonly string[];
  readonly covariates?: readonly string[];
  readonly profileColumn: string;
  /** Every column that may be a metric: the contract's, then the declared ones. */
  readonly columns: ReadonlyMap<string, MetricColumn>;
}

export function metricSetConfig(file?: MetricSetFile, origin = 'defaults'): MetricSetConfig {
  const columns = new Map<string, MetricColumn>();
  for (const spec of METRICS) columns.set(spec.name, { ...spec, ...CONTRACT_SCALING[spec.name]! });
  for (const [name, spec] of Object.entries(file?.columns ?? {})) {
    if (RESERVED.has(name)) throw new InputError(`${origin}: columns.${name}: is not a metric column`);
    if (columns.has(name))
      throw new InputError(
        `${origin}: columns.${name}: is a data-contract column; its unit and range are fixed (DATA_CONTRACT.md)`,
      );
    const { out_of_range: outOfRange, ...rest } = spec;
    columns.set(name, { name, ...rest, outOfRange, max: spec.max ?? Number.POSITIVE_INFINITY });
  }
  for (const key of ['targets', 'covariates'] as const) {
    const names = file?.[key] ?? [];
    names.forEach((name, i) => {
      if (!columns.has(name))
        throw new InputError(
          `${origin}: ${key}[${i}]: '${name}' is neither a data-contract column nor declared under "columns"`,
        );
    });
    if (new Set(names).size !== names.length) throw new InputError(`${origin}: ${key}: lists a column twice`);
  }
  const both = (file?.targets ?? []).filter((t) => file?.covariates?.includes(t));
  if (both.length > 0)
    throw new InputError(
      `${origin}: '${both[0]}' is both a target and a covariate; a target is already an input`,
    );
  return {
    origin,
    ...(file?.targets ? { targets: file.targets } : {}),
    ...(file?.covariates ? { covariates: file.covariates } : {}),
    profileColumn: file?.profile_column ?? PROFILE_COLUMN,
    columns,
  };
}

/**
 * Reads the metric set file: `path` when given (it must exist), else config/metric_set.json when
 * present, else the defaults.
 */
export async function loadMetricSetConfig(path?: string): Promise<MetricSetConfig> {
  const file = path ?? DEFAULT_METRIC_SET_PATH;
  if (path === undefined && !existsSync(file)) return metricSetConfig();
  if (!existsSync(file)) throw new InputError(`--metric-set: file not found: ${file}`);
  return metricSetConfig(await readJsonFile(file, MetricSetFile), file);
}

/** The metric set a model is trained on: targets first, then covariates, as the dataset's features. */
export interface ResolvedMetricSet {
  readonly targets: readonly string[];
  readonly covariates: readonly string[];
  /** targets then covariates, with their specs. */
  readonly features: readonly MetricColumn[];
  /** Lines saying what was chosen and what was left out, for progress output and reports. */
  readonly notes: readonly string[];
}

/**
 * Meets the configuration with the columns a source really has. A configured column the source
 * lacks is an error naming it; defaults simply skip what is absent, and say so in `notes`.
 */
export function resolveMetricSet(
  config: MetricSetConfig,
  sourceColumns: ReadonlySet<string>,
  sourceDescription: string,
): ResolvedMetricSet {
  const notes: string[] = [];
  const absent = (names: readonly string[], key: string): void => {
    const missing = names.filter((n) => !sourceColumns.has(n));
    if (missing.length > 0)
      throw new InputError(
        `${sourceDescription}: has no column ${missing.map((m) => `'${m}'`).join(', ')}, listed as ${key} in ${config.origin}`,
      );
  };
  let targets: readonly string[];
  if (config.targets) {
    absent(config.targets, 'targets');
    targets = config.targets;
  } else {
    targets = DEFAULT_TARGETS.filter((t) => sourceColumns.has(t));
    const skipped = DEFAULT_TARGETS.filter((t) => !sourceColumns.has(t));
    if (targets.length === 0)
      throw new InputError(
        `${sourceDescription}: has none of the default targets (${DEFAULT_TARGETS.join(', ')}); name the targets in ${DEFAULT_METRIC_SET_PATH} (docs/metrics.md, "Metric set")`,
      );
    if (skipped.length > 0) notes.push(`targets: ${skipped.join(', ')} not in the source, not forecast`);
  }
  let covariates: readonly string[];
  if (config.covariates) {
    absent(config.covariates, 'covariates');
    covariates = config.covariates;
  } else {
    covariates = [...config.columns.keys()].filter((c) => sourceColumns.has(c) && !targets.includes(c));
  }
  const ignored = [...sourceColumns].filter(
    (c) => !RESERVED.has(c) && c !== config.profileColumn && !targets.includes(c) && !covariates.includes(c),
  );
  if (ignored.length > 0)
    notes.push(
      `ignored: ${ignored.join(', ')} (not in the metric set; to use a column, list it in ${DEFAULT_METRIC_SET_PATH}, declaring unknown ones under "columns")`,
    );
  notes.unshift(
    `metric set: targets ${targets.join(', ')}; covariates ${covariates.length ? covariates.join(', ') : 'none'}`,
  );
  const features = [...targets, ...covariates].map((name) => config.columns.get(name)!);
  return { targets, covariates, features, notes };
}
