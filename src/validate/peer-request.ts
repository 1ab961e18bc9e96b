import { InputError } from '../core/errors.js';
import type { DatasetHeader } from '../dataset/format.js';
import { modelMetrics } from '../dataset/model-metrics.js';
import type { Encoders } from '../registry/schemas.js';

/**
 * The peer forecasters of `trainer/fleetcast_trainer/peers/` (docs/peers.md), in the order they
 * run: global gradient boosting, per-server Holt-Winters, and seasonal naive with the empirical
 * quantiles of its own past errors (the quantile-aware naive baseline).
 */
export const PEER_NAMES = ['gbm', 'ets', 'qnaive'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** The peer that is a quantile-aware version of seasonal naive: the P10/P90 naive baseline. */
export const QUANTILE_NAIVE: PeerName = 'qnaive';

export function isPeerName(name: string): name is PeerName {
  return (PEER_NAMES as readonly string[]).includes(name);
}

/**
 * `--peers` as given: `true` (the flag alone) is every peer; a list is comma-separated names, each
 * known and listed once, run in PEER_NAMES order. An InputError names an unknown one.
 */
export function parsePeerList(value: string | boolean | undefined): PeerName[] {
  if (value === undefined || value === false) return [];
  if (value === true) return [...PEER_NAMES];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new InputError(`--peers: no peer named (choose from ${PEER_NAMES.join(', ')})`);
  for (const name of names)
    if (!isPeerName(name))
      throw new InputError(
        `--peers: unknown peer ${JSON.stringify(name)} (choose from ${PEER_NAMES.join(', ')})`,
      );
  return PEER_NAMES.filter((p) => names.includes(p));
}

/** Where the held-out windows are: heldout.ts's first origin, stride and origin list. */
export interface HeldOutLayout {
  from: number;
  stride: number;
  origins: readonly number[];
}

/** `peer_request.json` (docs/peers.md, "Input"): what the peers forecast. */
export interface PeerRequest {
  format_version: 1;
  targets: string[];
  quantiles: number[];
  horizon_steps: number;
  from_step: number;
  stride_steps: number;
  fit_end_step: number;
  lookback_steps: number;
  transforms: Record<string, 'none' | 'log1p'>;
  bounds: Record<string, { min: number; max: number | null }>;
}

export const PEER_REQUEST_FILE = 'peer_request.json';

/**
 * The request for the windows the model is scored on: the model's targets, quantiles, horizon and
 * lookback (encoders.json), heldout.ts's first origin and stride, fitting only on steps before the
 * held-out window (`split.train_end_step`), and each target's transform and range from the model's
 * metric set (modelMetrics: encoders.json `metrics`, or the data contract for an older model).
 */
export function peerRequest(header: DatasetHeader, encoders: Encoders, layout: HeldOutLayout): PeerRequest {
  const columns = new Map(modelMetrics(encoders).features.map((f) => [f.name, f]));
  const transforms: PeerRequest['transforms'] = {};
  const bounds: PeerRequest['bounds'] = {};
  for (const t of encoders.targets) {
    const column = columns.get(t);
    if (!column) throw new InputError(`model ${encoders.model_id}: no metric record for target ${t}`);
    transforms[t] = column.transform;
    bounds[t] = { min: column.min, max: Number.isFinite(column.max) ? column.max : null };
  }
  return {
    format_version: 1,
    targets: [...encoders.targets],
    quantiles: [...encoders.quantiles],
    horizon_steps: encoders.horizon_steps,
    from_step: layout.from,
    stride_steps: layout.stride,
    fit_end_step: Math.min(header.split.train_end_step, layout.from),
    lookback_steps: encoders.lookback_steps,
    transforms,
    bounds,
  };
}
