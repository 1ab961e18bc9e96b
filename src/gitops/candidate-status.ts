import { z } from 'zod';
import { FleetcastError, getErrorMessage } from '../core/errors.js';
import type { CandidateComparison } from './candidate-decide.js';
import type { ServiceAccess } from './live-record.js';

/**
 * The part of the service's `GET /status` → `candidate` block that the promotion rule reads
 * (the service's own schema: src/service/serving/candidate.ts, CandidateStatusJson). Read as a
 * client reads an API: the fields it needs, others ignored.
 */
const QRiskPair = z.object({ candidate: z.number().nullable(), serving: z.number().nullable() });
const StatusCandidate = z.object({
  candidate: z
    .object({
      model_id: z.string(),
      state: z.enum(['loading', 'active', 'failed']),
      error: z.string().nullable(),
      comparison: z
        .object({
          serving_model_id: z.string(),
          incomparable: z.string().nullable(),
          shared_points: z.number().int(),
          live_hours: z.number(),
          q_risk: z.object({ p50: QRiskPair, p90: QRiskPair }),
        })
        .nullable(),
    })
    .nullable()
    .optional(),
});

/** The service's candidate comparison, as the decision reads it; null when it reports no loaded candidate. */
export async function readCandidateComparison(
  access: ServiceAccess & { serviceUrl: string; timeoutMs?: number },
): Promise<CandidateComparison | null> {
  const url = new URL('/status', access.serviceUrl);
  let response: Response;
  try {
    response = await (access.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(access.timeoutMs ?? 30_000),
      headers: {
        accept: 'application/json',
        ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
      },
    });
  } catch (error) {
    throw new FleetcastError(`${url.href}: cannot reach the service (${getErrorMessage(error)})`);
  }
  if (!response.ok) throw new FleetcastError(`${url.href}: HTTP ${response.status}`);
  const parsed = StatusCandidate.safeParse(await response.json());
  if (!parsed.success)
    throw new FleetcastError(
      `${url.href}: unexpected candidate block: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  const status = parsed.data.candidate ?? null;
  if (status === null) return null;
  if (status.state === 'failed')
    return {
      candidateModelId: status.model_id,
      servingModelId: null,
      incomparable: `the service could not load it: ${status.error ?? 'unknown error'}`,
      sharedPoints: 0,
      liveHours: 0,
      p50: { candidate: null, serving: null },
      p90: { candidate: null, serving: null },
    };
  const c = status.comparison;
  if (status.state !== 'active' || c === null) return null;
  return {
    candidateModelId: status.model_id,
    servingModelId: c.serving_model_id,
    incomparable: c.incomparable,
    sharedPoints: c.shared_points,
    liveHours: c.live_hours,
    p50: c.q_risk.p50,
    p90: c.q_risk.p90,
  };
}
