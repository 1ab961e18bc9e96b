import type { Forge } from '../forge/types.js';
import { driftBranchName } from './branch-names.js';
import { headlineQRisk, p50QRisk, type ValidationFigures } from './validation-summary.js';

/** Hidden marker of the one validation comment on a drift PR (found and edited in place). */
export const VALIDATION_COMMENT_MARKER = '<!-- fleetcast:validation -->';

/** A code span in a table cell: no escaping applies inside one, so what would break it goes. */
const code = (text: string): string => `\`${text.replace(/[`|\r\n]/g, '')}\``;

const fmt = (value: number | null, digits = 4): string => (value === null ? 'n/a' : value.toFixed(digits));

/**
 * The retrain's validation as a PR comment, CML-style: the verdict, coverage, the headline and
 * per-target P50 q-risk and each gate, with a link to the run. Pure: tested as text.
 */
export function renderValidationComment(validation: ValidationFigures, runUrl: string | undefined): string {
  const p50 = p50QRisk(validation);
  const lines = [
    VALIDATION_COMMENT_MARKER,
    `### Retrain validation: ${validation.passed ? '✅ passed' : '❌ failed'} — ${code(validation.model_id)}`,
    '',
    '| check | value |',
    '|---|---|',
    `| coverage of the manifest | ${validation.coverage.percent.toFixed(1)} % of ${validation.manifest_servers} servers |`,
    `| q-risk (mean, all targets and quantiles) | ${fmt(headlineQRisk(validation))} |`,
    ...Object.entries(p50)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([target, q]) => `| P50 q-risk ${code(target)} | ${fmt(q)} |`),
    ...(validation.gates ?? []).map(
      (g) => `| gate ${code(g.name ?? '?')} | ${g.passed === true ? 'passed' : 'failed'} |`,
    ),
    '',
    validation.passed
      ? 'The model goes on to the deploy job (and its approval, if the environment asks for one).'
      : 'The model is not deployed; the reconcile loop retries with backoff.',
  ];
  if (runUrl !== undefined) lines.push('', `[Workflow run](${runUrl})`);
  return `${lines.join('\n')}\n`;
}

/**
 * Posts (or updates in place) the validation comment on the drift pull request this retrain comes
 * from: the last merged PR of `fleetcast/drift/<base>`. Returns what happened, or undefined when
 * no merged drift PR exists (a retrain by hand).
 */
export async function postValidationComment(
  forge: Forge,
  base: string,
  validation: ValidationFigures,
  runUrl: string | undefined,
): Promise<{ pr: number; operation: 'created' | 'updated' | 'unchanged' } | undefined> {
  const pull = await forge.findLastClosedPullRequest(driftBranchName(base), base);
  if (pull === undefined || !pull.merged) return undefined;
  const operation = await forge.upsertComment(
    pull.number,
    VALIDATION_COMMENT_MARKER,
    renderValidationComment(validation, runUrl),
  );
  return { pr: pull.number, operation };
}
