import { readJsonFile } from '../core/read-json.js';
import { DEFAULT_GATES, GateConfig } from './gates.js';

/** Gate settings from a JSON file (docs/validation.md), or the defaults. Unknown keys are rejected. */
export async function readGateConfig(path: string | undefined): Promise<GateConfig> {
  return path === undefined ? DEFAULT_GATES : readJsonFile(path, GateConfig);
}
