import { z } from 'zod';
import { serverNameProblem } from '../core/server-name.js';

/** Formats of the files in a model directory and the pointer; see docs/MODEL_FORMAT.md. */

export const MODEL_ID_PATTERN = /^tft-\d{8}T\d{6}Z-[0-9a-f]{6}$/;
export const ModelId = z
  .string()
  .regex(MODEL_ID_PATTERN, 'model id must look like tft-YYYYMMDDTHHMMSSZ-abcdef');

export const ServerName = z.string().superRefine((name, ctx) => {
  const problem = serverNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const Index = z.number().int().positive();
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/** A feature's unit, physical range (max null: no ceiling) and scaling; forecasts stay in the range. */
export const MetricRecord = z.strictObject({
  unit: z.string(),
  min: z.number(),
  max: z.number().nullable(),
  transform: z.enum(['none', 'log1p']),
  std_floor: z.number().positive(),
});
export type MetricRecord = z.infer<typeof MetricRecord>;

export const Encoders = z
  .object({
    format_version: z.literal(1),
    model_id: ModelId,
    server_id: z.strictObject({
      unknown_index: z.literal(0),
      num_embeddings: z.number().int().positive(),
      classes: z.record(ServerName, Index),
    }),
    profile: z.strictObject({ unknown_index: z.literal(0), classes: z.record(z.string(), Index) }),
    server_profiles: z.record(ServerName, z.string()),
    observed_features: z.array(z.string()).min(1),
    known_features: z.array(z.string()).min(1),
    targets: z.array(z.string()).min(1),
    /**
     * The metric set the model was trained on: each observed feature's unit, physical range (max
     * null: no ceiling) and scaling. Absent in models trained before metric sets (the data
     * contract's columns are assumed then, see metricsOf).
     */
    metrics: z.record(z.string(), MetricRecord).optional(),
    quantiles: z.array(z.number().gt(0).lt(1)).min(1),
    resolution_seconds: z.number().int().positive(),
    lookback_steps: z.number().int().positive(),
    horizon_steps: z.number().int().positive(),
  })
  .strict()
  .superRefine((enc, ctx) => {
    for (const [name, index] of Object.entries(enc.server_id.classes)) {
      if (index >= enc.server_id.num_embeddings) {
        ctx.addIssue({
          code: 'custom',
          path: ['server_id', 'classes', name],
          message: `index ${index} ≥ num_embeddings`,
        });
      }
    }
    for (const feature of enc.metrics ? enc.observed_features : []) {
      if (enc.metrics![feature] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['metrics'],
          message: `has no entry for observed feature ${feature}`,
        });
    }
    for (const target of enc.targets) {
      if (!enc.observed_features.includes(target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets'],
          message: `target ${target} is not an observed feature`,
        });
      }
    }
  });
export type Encoders = z.infer<typeof Encoders>;

export const ServerMapping = z
  .object({
    format_version: z.literal(1),
    servers: z.record(ServerName, Index),
    retired: z.record(ServerName, Index),
    next_index: Index,
  })
  .strict();
export type ServerMapping = z.infer<typeof ServerMapping>;

export const Normalization = z
  .object({
    format_version: z.literal(1),
    method: z.literal('encoder_window_standardize'),
    features: z.record(
      z.string(),
      z.strictObject({ transform: z.enum(['none', 'log1p']), std_floor: z.number().positive() }),
    ),
  })
  .strict();
export type Normalization = z.infer<typeof Normalization>;

/**
 * A model evaluated beside the serving one (docs/candidate.md): `shadow` forecasts every cycle and
 * never serves; `ab` serves the servers whose name hashes below `share` (serving/candidate-route.ts).
 */
export const CandidateMode = z.enum(['shadow', 'ab']);
export type CandidateMode = z.infer<typeof CandidateMode>;

export const PointerCandidate = z
  .strictObject({
    model_id: ModelId,
    sha256: Sha256,
    mode: CandidateMode,
    /** Share of servers the candidate serves, 0 < share < 1; A/B only. */
    share: z.number().gt(0).lt(1).optional(),
    since: z.iso.datetime(),
  })
  .superRefine((candidate, ctx) => {
    if (candidate.mode === 'ab' && candidate.share === undefined)
      ctx.addIssue({ code: 'custom', path: ['share'], message: 'is required in ab mode (0 < share < 1)' });
    if (candidate.mode === 'shadow' && candidate.share !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['share'],
        message: 'applies to ab mode only; a shadow candidate serves nothing',
      });
  });
export type PointerCandidate = z.infer<typeof PointerCandidate>;

export const Pointer = z
  .object({
    format_version: z.literal(1),
    model_id: ModelId,
    sha256: Sha256,
    deployed_at: z.iso.datetime(),
    previous_model_id: ModelId.nullable(),
    reason: z.string().max(2000),
    /** Optional: absent in pointers written before candidates, and whenever none is evaluated. */
    candidate: PointerCandidate.optional(),
  })
  .strict()
  .superRefine((pointer, ctx) => {
    if (pointer.candidate !== undefined && pointer.candidate.model_id === pointer.model_id)
      ctx.addIssue({
        code: 'custom',
        path: ['candidate', 'model_id'],
        message: `is the serving model ${pointer.model_id}; a candidate must be another model`,
      });
  });
export type Pointer = z.infer<typeof Pointer>;
