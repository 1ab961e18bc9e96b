import { existsSync } from 'node:fs';

/**
 * The Python interpreter that runs the trainer: $FLEETCAST_PYTHON, else /usr/bin/python3 (where
 * Debian's python3-torch lives; a pyenv `python3` earlier on PATH cannot import it), else `python3`.
 */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLEETCAST_PYTHON) return env.FLEETCAST_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}
