import { z } from 'zod';

/**
 * The figures a deploy commit and summary quote from a model's validation.json (written by
 * src/validate; see docs/validation.md). Parsed leniently: extra fields are the validator's business.
 */
const Score = z.looseObject({
  model: z.string(),
  group: z.string(),
  target: z.string().optional(),
  quantile: z.number().optional(),
  q_risk: z.number().nullable(),
});
export const ValidationFigures = z.looseObject({
  model_id: z.string(),
  passed: z.boolean(),
  manifest_servers: z.number().int().nonnegative(),
  coverage: z.looseObject({
    percent: z.number(),
    intended: z.number().optional(),
    covered: z.number().optional(),
  }),
  accuracy: z
    .looseObject({ scores: z.array(Score) })
    .nullable()
    .optional(),
  gates: z.array(z.looseObject({ name: z.string().optional(), passed: z.boolean().optional() })).optional(),
});
export type ValidationFigures = z.infer<typeof ValidationFigures>;

/** One q-risk figure for a commit message: the model's mean over every target and quantile, all servers. */
export function headlineQRisk(validation: {
  accuracy?: { scores: ReadonlyArray<{ model: string; group: string; q_risk: number | null }> } | null;
}): number | null {
  const values = (validation.accuracy?.scores ?? [])
    .filter((s) => s.model === 'model' && s.group === 'all' && s.q_risk !== null)
    .map((s) => s.q_risk!);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The model's held-out P50 q-risk per target on all servers (what `fleetcast history` lists). */
export function p50QRisk(validation: Parameters<typeof quantileQRisk>[0]): Record<string, number> {
  return quantileQRisk(validation, 0.5);
}

/** The model's held-out q-risk at `quantile` per target on all servers. */
export function quantileQRisk(
  validation: {
    accuracy?: {
      scores: ReadonlyArray<{
        model: string;
        group: string;
        target?: string;
        quantile?: number;
        q_risk: number | null;
      }>;
    } | null;
  },
  quantile: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of validation.accuracy?.scores ?? [])
    if (
      s.model === 'model' &&
      s.group === 'all' &&
      s.quantile === quantile &&
      s.target !== undefined &&
      s.q_risk !== null
    )
      out[s.target] = s.q_risk;
  return out;
}
