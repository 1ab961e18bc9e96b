import { InputError } from '../core/errors.js';
import { DriftReport } from './types.js';

/**
 * A drift report read back from JSON (`fleetcast drift --json` saved to a file), checked against
 * the report's own schema: every server name is validated before it can reach Markdown or git.
 * In-process callers pass the engine's typed report instead.
 */
export function parseDriftReport(json: unknown, where: string): DriftReport {
  const parsed = DriftReport.safeParse(json);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues
    .slice(0, 20)
    .map((issue) => `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new InputError(lines.join('\n'));
}
