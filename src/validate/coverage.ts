import { vocabularyCoverage } from '../fleet/coverage.js';

/** Why a manifest server is not covered by a model. */
export type CoverageProblem = 'not_in_vocabulary' | 'no_recent_data' | 'non_finite_forecast';

export interface CoverageReport {
  intended: number;
  covered: number;
  /** covered / intended × 100 (100 for an empty manifest). */
  percent: number;
  missing: Array<{ server: string; problem: CoverageProblem }>;
  passed: boolean;
  message: string;
}

/**
 * Coverage: a manifest server counts only if it is in the model's vocabulary (the rule of
 * src/fleet/coverage.ts) AND the exported model gave it a finite forecast on its own recent data.
 * `forecastOk` holds the outcome of that forecast for each server that had recent data (absent: no
 * data to forecast from). Anything under 100 % fails, naming the missing servers.
 */
export function computeCoverage(
  manifestServers: readonly string[],
  vocabulary: ReadonlySet<string>,
  forecastOk: ReadonlyMap<string, boolean>,
): CoverageReport {
  const { intended, missing: outsideVocabulary } = vocabularyCoverage(manifestServers, vocabulary);
  const notInVocabulary = new Set(outsideVocabulary);
  const missing: CoverageReport['missing'] = [];
  for (const server of [...new Set(manifestServers)].sort()) {
    if (notInVocabulary.has(server)) missing.push({ server, problem: 'not_in_vocabulary' });
    else if (!forecastOk.has(server)) missing.push({ server, problem: 'no_recent_data' });
    else if (!forecastOk.get(server)) missing.push({ server, problem: 'non_finite_forecast' });
  }
  const covered = intended - missing.length;
  const percent = intended === 0 ? 100 : (covered / intended) * 100;
  const passed = missing.length === 0;
  return {
    intended,
    covered,
    percent,
    missing,
    passed,
    message: coverageMessage(intended, covered, missing),
  };
}

const PROBLEM_TEXT: Record<CoverageProblem, string> = {
  not_in_vocabulary: 'not in the model vocabulary',
  no_recent_data: 'no recent data to forecast from',
  non_finite_forecast: 'forecast is not finite',
};

function coverageMessage(intended: number, covered: number, missing: CoverageReport['missing']): string {
  if (missing.length === 0) return `coverage 100%: all ${intended} intended servers get a finite forecast`;
  const shown = missing.slice(0, 50).map((m) => m.server);
  const more = missing.length > shown.length ? `, … (${missing.length - shown.length} more)` : '';
  const reasons = (Object.keys(PROBLEM_TEXT) as CoverageProblem[])
    .map((p) => [p, missing.filter((m) => m.problem === p).length] as const)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${PROBLEM_TEXT[p]}`)
    .join(', ');
  return (
    `we intended ${intended} servers, the model covers ${covered} ` +
    `(${((covered / Math.max(intended, 1)) * 100).toFixed(1)}%): missing ${shown.join(', ')}${more} [${reasons}]`
  );
}
