import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { readJsonFile } from '../core/read-json.js';

/** The peers' manifest in their --out directory (docs/peers.md, "Output"). */
export const PEER_MANIFEST = 'forecasts.json';

const Step = z.number().int().nonnegative();
const Bound = z.strictObject({ min: z.number().nullable(), max: z.number().nullable() });

/** One peer's entry in forecasts.json. */
const PeerEntry = z.strictObject({
  file: z.string().regex(/^[a-z0-9_]+\.f32$/, 'a <peer>.f32 file name'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 hex'),
  seconds: z.number().nonnegative(),
  windows_with_missing: z.number().int().nonnegative(),
  settings: z.record(z.string(), z.unknown()),
  info: z.record(z.string(), z.unknown()),
});

/** `forecasts.json`, read strictly: an unknown or missing field is an error naming it. */
export const PeerManifest = z.strictObject({
  format_version: z.literal(1),
  created_at: z.string(),
  trainer_version: z.string(),
  dataset: z.strictObject({
    path: z.string(),
    source: z.string(),
    created_at: z.string(),
    start: z.string(),
    n_steps: Step,
    train_end_step: Step,
  }),
  request: z.strictObject({
    source: z.string(),
    from_step: Step,
    stride_steps: z.number().int().positive(),
    fit_end_step: Step,
    lookback_steps: Step,
    transforms: z.record(z.string(), z.enum(['none', 'log1p'])),
    bounds: z.record(z.string(), Bound),
  }),
  resolution_seconds: z.number().int().positive(),
  targets: z.array(z.string()).min(1),
  quantiles: z.array(z.number().gt(0).lt(1)).min(1),
  horizon_steps: z.number().int().positive(),
  servers: z.array(z.string()).min(1),
  origins: z.array(Step).min(1),
  origin_times: z.array(z.string()),
  shape: z.tuple([Step, Step, Step, Step, Step]),
  layout: z.string(),
  peers: z.record(z.string(), PeerEntry),
  seed: z.number().int(),
  threads: z.number().int().positive(),
  total_seconds: z.number().nonnegative(),
  scores: z.string().optional(),
});
export type PeerManifest = z.infer<typeof PeerManifest>;

/** What the forecasts must match: the dataset rows and the model's layout on the held-out window. */
export interface PeerExpectation {
  servers: readonly string[];
  origins: readonly number[];
  targets: readonly string[];
  quantiles: readonly number[];
  horizon: number;
}

/** One peer's forecasts: [server, origin, horizon step, target, quantile] float32, C order. */
export interface PeerForecasts {
  peer: string;
  values: Float32Array;
  /** Values of one (server, origin) window: horizon × targets × quantiles. */
  per: number;
  nOrigins: number;
  seconds: number;
  windowsWithMissing: number;
  info: Record<string, unknown>;
}

/** The window of dataset row `row` and origin index `origin`, [H, T, Q] row-major (a view). */
export function peerWindow(f: PeerForecasts, row: number, origin: number): Float32Array {
  const start = (row * f.nOrigins + origin) * f.per;
  return f.values.subarray(start, start + f.per);
}

/**
 * Reads `peer`'s forecasts from the peers' --out directory: forecasts.json through the strict
 * schema, then every promise it makes checked against `expect` (servers in dataset row order, the
 * held-out origins, the model's targets, quantiles and horizon) and the array file against its
 * size (shape product × 4 bytes) and sha256. An InputError names the file and field.
 */
export async function readPeerForecasts(
  dir: string,
  peer: string,
  expect: PeerExpectation,
): Promise<PeerForecasts> {
  const path = join(dir, PEER_MANIFEST);
  const m = await readJsonFile(path, PeerManifest);
  const differs = (field: string, got: unknown, want: unknown) =>
    new InputError(`${path}: ${field} is ${short(got)}, expected ${short(want)}`);
  if (!same(m.servers, expect.servers)) throw differs('servers', m.servers, expect.servers);
  if (!same(m.origins, expect.origins)) throw differs('origins', m.origins, expect.origins);
  if (!same(m.targets, expect.targets)) throw differs('targets', m.targets, expect.targets);
  if (!sameNumbers(m.quantiles, expect.quantiles)) throw differs('quantiles', m.quantiles, expect.quantiles);
  if (m.horizon_steps !== expect.horizon) throw differs('horizon_steps', m.horizon_steps, expect.horizon);
  const shape = [expect.servers.length, expect.origins.length, expect.horizon, expect.targets.length];
  const want = [...shape, expect.quantiles.length];
  if (!same(m.shape, want)) throw differs('shape', m.shape, want);
  const entry = m.peers[peer];
  if (!entry)
    throw new InputError(`${path}: peers has no ${peer} (has ${Object.keys(m.peers).join(', ') || 'none'})`);
  const file = join(dir, entry.file);
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new InputError(`${file}: cannot read (${String(error)})`, { cause: error });
  });
  const size = want.reduce((a, b) => a * b, 1) * 4;
  if (bytes.length !== size)
    throw new InputError(`${file}: ${bytes.length} bytes, expected ${size} for shape [${want.join(', ')}]`);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== entry.sha256)
    throw new InputError(`${file}: sha256 ${digest} differs from ${PEER_MANIFEST}'s ${entry.sha256}`);
  const values = new Float32Array(size / 4);
  new Uint8Array(values.buffer).set(bytes);
  if (endianness() !== 'LE') swapFloat32(new Uint8Array(values.buffer));
  return {
    peer,
    values,
    per: expect.horizon * expect.targets.length * expect.quantiles.length,
    nOrigins: expect.origins.length,
    seconds: entry.seconds,
    windowsWithMissing: entry.windows_with_missing,
    info: entry.info,
  };
}

function same(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) < 1e-9);
}

function short(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function swapFloat32(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    [bytes[i], bytes[i + 3]] = [bytes[i + 3]!, bytes[i]!];
    [bytes[i + 1], bytes[i + 2]] = [bytes[i + 2]!, bytes[i + 1]!];
  }
}
