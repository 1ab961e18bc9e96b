import { InputError } from '../../core/errors.js';
import { verifyChecksums } from '../../registry/checksums.js';
import { modelDir } from '../../registry/layout.js';
import type { SwapTarget } from './swap.js';

/** What /health's `pointer_reason` says for an instance pinned with `--model-id`. */
export const PINNED_REASON =
  'pinned by fleetcast serve --model-id: this instance does not follow current.json';

/**
 * The swap target of an instance pinned to one model (`fleetcast serve --model-id`, blue-green):
 * the model's files must match its SHA256SUMS now, and, when given, that list's digest must be
 * `expectedDigest` (the one `fleetcast blue-green` checked). Every reload then loads exactly these
 * bytes or fails: the instance never follows current.json.
 */
export async function pinnedTarget(
  registry: string,
  modelId: string,
  expectedDigest: string | undefined,
  now: Date,
): Promise<SwapTarget> {
  const dir = modelDir(registry, modelId);
  const verified = await verifyChecksums(dir);
  if (!verified.ok)
    throw new InputError(`--model-id ${modelId}: ${dir} does not verify: ${verified.problems.join('; ')}`);
  if (expectedDigest !== undefined && verified.digest !== expectedDigest.toLowerCase())
    throw new InputError(
      `--model-id ${modelId}: SHA256SUMS digest ${verified.digest} does not match --sha256 ${expectedDigest}`,
    );
  return {
    modelId,
    dir,
    digest: verified.digest,
    pointer: {
      format_version: 1,
      model_id: modelId,
      sha256: verified.digest,
      deployed_at: now.toISOString(),
      previous_model_id: null,
      reason: PINNED_REASON,
    },
  };
}
