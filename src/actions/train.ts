import { relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { headlineQRisk, ValidationFigures } from '../gitops/validation-summary.js';
import { trainModel } from '../train/pipeline.js';
import { readGateConfig } from '../validate/config-file.js';
import { renderReport } from '../validate/report.js';
import { GateError, getErrorMessage, InputError } from '../core/errors.js';
import { ForgeSettings, FORGE_INPUTS, openForge } from '../forge/forge-settings.js';
import { postValidationComment } from '../gitops/validation-comment.js';
import { BooleanInput, PositiveNumberInput, workspaceMetrics, workspacePath } from './common/inputs.js';
import { retryBaseMs } from './common/retry.js';
import { setOutputs } from './common/outputs.js';
import { defineAction, runAction } from './common/run-action.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'metrics',
  'manifest_path',
  'registry',
  'profile',
  'seed',
  'epochs',
  'days',
  'device',
  'gates',
  'work_dir',
  'pr_comment',
  'base_branch',
  ...FORGE_INPUTS,
  'slack_webhook',
] as const;

function settingsSchema(workspace: string) {
  return z.object({
    /** Metrics source inside the workspace (`path#table` for DuckDB). */
    metrics: workspaceMetrics(workspace),
    manifest_path: workspacePath(workspace, 'manifest_path').default(
      resolve(workspace, 'fleet/manifest.json'),
    ),
    registry: workspacePath(workspace, 'registry').default(resolve(workspace, 'models-registry')),
    profile: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'must be a profile name from trainer/profiles.json')
      .default('default'),
    seed: z.coerce.number().int().min(0).default(0),
    epochs: z.coerce.number().int().positive().optional(),
    days: PositiveNumberInput.default(30),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    gates: workspacePath(workspace, 'gates').optional(),
    /** Dataset, trainer output and candidate model; kept for the artifact upload when validation fails. */
    work_dir: workspacePath(workspace, 'work_dir').default(resolve(workspace, '.fleetcast/train-work')),
    /** Post the validation table on the merged drift PR (one comment, updated in place). */
    pr_comment: BooleanInput.default(false),
    base_branch: z.string().min(1).default('main'),
    // The forge inputs are validated only when pr_comment needs them (ForgeSettings).
    forge: z.string().optional(),
    token: z.string().optional(),
    repository: z.string().optional(),
    api_url: z.string().optional(),
    local_repository: z.string().optional(),
    local_pulls_dir: z.string().optional(),
    slack_webhook: z.url().optional(),
  });
}

const train = defineAction({
  inputs: INPUTS,
  secrets: ['slack_webhook', 'token'],
  settings: settingsSchema,
  failureTitle: 'Model training failed',
});

export function run(): Promise<void> {
  return runAction(train, async (settings, { workspace, context }) => {
    const outcome = await trainModel({
      metrics: settings.metrics,
      manifest: settings.manifest_path,
      registry: settings.registry,
      profile: settings.profile,
      seed: settings.seed,
      days: settings.days,
      work: settings.work_dir,
      validate: true,
      gates: await readGateConfig(settings.gates),
      device: settings.device,
      progress: (line) => core.info(line),
      ...(settings.epochs === undefined ? {} : { epochs: settings.epochs }),
    });
    const validation = outcome.validation;
    const report = validation === null ? 'no validation report' : renderReport(validation);
    const qRisk = validation === null ? null : headlineQRisk(validation);
    setOutputs({
      model_id: outcome.modelId,
      passed: outcome.passed,
      work_dir: relative(workspace, outcome.workDir),
      model_dir: outcome.modelDir === null ? '' : relative(workspace, outcome.modelDir),
      coverage: validation?.coverage.percent ?? '',
      q_risk: qRisk ?? '',
      fleet_size: validation?.manifest_servers ?? '',
    });
    await core.summary
      .addHeading(`Training ${outcome.passed ? 'passed' : 'FAILED validation'}: ${outcome.modelId}`, 2)
      .addCodeBlock(report)
      .write();
    if (settings.pr_comment && validation !== null)
      await commentOnDriftPr(settings, validation, context.runUrl);
    if (!outcome.passed || outcome.modelDir === null) {
      for (const gate of validation?.gates ?? []) {
        if (gate.enforced && !gate.passed) core.error(`gate ${gate.name} failed: ${gate.detail}`);
      }
      throw new GateError(`model ${outcome.modelId} failed validation; it is not deployed.\n${report}`);
    }
    core.info(report);
    if (context.runUrl) core.info(`run: ${context.runUrl}`);
  });
}

/** The validation table on the merged drift PR; a comment that cannot be posted only warns. */
async function commentOnDriftPr(
  settings: Record<string, unknown> & { base_branch: string },
  validation: unknown,
  runUrl: string | undefined,
): Promise<void> {
  const forgeSettings = ForgeSettings.safeParse(settings);
  if (!forgeSettings.success)
    throw new InputError(
      `pr_comment needs the forge inputs: ${forgeSettings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  try {
    const posted = await postValidationComment(
      await openForge(forgeSettings.data, retryBaseMs()),
      settings.base_branch,
      ValidationFigures.parse(validation),
      runUrl,
    );
    core.info(
      posted === undefined
        ? 'no merged drift pull request to comment on (a retrain by hand)'
        : `validation comment on #${posted.pr}: ${posted.operation}`,
    );
  } catch (error) {
    core.warning(`could not post the validation table on the drift pull request: ${getErrorMessage(error)}`);
  }
}
