import { InputError } from '../core/errors.js';
import type { Force } from '../model/deploy-check.js';

/** `--force` of deploy and rollback: only with a `--reason`, which the pointer records. */
export function forceOf(options: { force?: boolean; reason?: string }): Force | undefined {
  if (!options.force) return undefined;
  const reason = options.reason?.trim() ?? '';
  if (reason === '')
    throw new InputError('--force needs --reason TEXT: why a model that did not pass validation is deployed');
  return { reason };
}
