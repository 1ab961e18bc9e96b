import * as core from '@actions/core';

/** Sets several step outputs at once (numbers and booleans as the runner writes them: `12`, `true`). */
export function setOutputs(outputs: Record<string, string | number | boolean>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}
