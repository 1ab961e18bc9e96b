// The development slice of the real trace (../shared/data/README.md), beside the checkout.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEVELOPMENT_DATA = join(
  fileURLToPath(new URL('../../..', import.meta.url)),
  'shared',
  'data',
  'bitbrains-rnd-dev.parquet',
);

/** The metrics file resolved, or null (said on stderr, exit code 2) when it is not there. */
export function metricsOrNothing(path: string, bench: string): string | null {
  const metrics = resolve(path);
  if (existsSync(metrics)) return metrics;
  process.stderr.write(
    `${bench}: ${metrics} not found (the development data set lives in ../shared/data); nothing measured\n`,
  );
  process.exitCode = 2;
  return null;
}
