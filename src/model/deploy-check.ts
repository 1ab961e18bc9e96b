import { FleetcastError, GateError, getErrorMessage, InputError } from '../core/errors.js';
import { deploy, rollback, type PointerChange, type VerifiedModel } from '../registry/pointer.js';
import { readValidationStatus, type ValidationVerdict } from '../registry/validation-status.js';
import { forecastProblems, sampleInputs } from './forecast-check.js';
import { LoadedModel } from './loaded-model.js';

/**
 * What a model must pass before a pointer may name it: everything the service checks when it loads
 * the model (SHA256SUMS with no unlisted or linked entry, the pinned digest, encoders.json, the
 * ONNX graph in onnxruntime-node, a forecast of known servers and the unknown slot with exactly the
 * promised shape and finite values: the rule of forecast-check.ts that the warm-up uses too), and
 * a validation.json that says it passed. `fleetcast deploy` / `rollback` and the deploy action all
 * come through here (docs/service.md, "Deploy and rollback").
 */

export interface Force {
  /** Why a model without a passed validation is deployed anyway; recorded in the pointer. */
  reason: string;
}

export interface DeployCheckOptions {
  /** The SHA256SUMS digest the model must have (the one a pointer will pin). */
  expectedDigest?: string;
  /** Accept a failed or missing validation (never a model that cannot forecast). */
  force?: Force;
  now?: Date;
}

export interface DeployCheck {
  modelId: string;
  digest: string;
  validation: ValidationVerdict;
  /** Servers of the sample forecast (the unknown slot included). */
  sampleServers: string[];
  /** The model's server vocabulary, for the coverage rule against a manifest. */
  vocabulary: ReadonlySet<string>;
  /** True when validation did not pass and `force` let the model through. */
  forced: boolean;
}

/** Checks `dir` as described above; throws InputError (exit 2) or GateError (exit 3, validation). */
export async function checkDeployable(dir: string, options: DeployCheckOptions = {}): Promise<DeployCheck> {
  let model: LoadedModel;
  try {
    model = await LoadedModel.load(dir, {
      ...(options.expectedDigest === undefined ? {} : { expectedDigest: options.expectedDigest }),
      intraOpNumThreads: 1,
    });
  } catch (error) {
    throw refusal(dir, getErrorMessage(error), error);
  }
  const modelId = model.id;
  let sampleServers: string[];
  try {
    const inputs = sampleInputs(model.encoders, Math.floor((options.now ?? new Date()).getTime() / 1000));
    sampleServers = inputs.map((input) => input.server);
    let problems: string[];
    try {
      problems = forecastProblems(model.encoders, inputs, await model.forecastEach(inputs));
    } catch (error) {
      throw refusal(dir, `sample forecast failed: ${getErrorMessage(error)}`, error);
    }
    if (problems.length > 0)
      throw refusal(dir, `sample forecast of ${sampleServers.join(', ')}: ${problems.join('; ')}`);
  } finally {
    await model.release();
  }
  const forced = await validationGate(dir, modelId, options.force);
  return {
    modelId,
    digest: model.digest,
    validation: forced.verdict,
    sampleServers,
    vocabulary: model.vocabulary,
    forced: forced.forced,
  };
}

/**
 * The validation rule of a deploy: validation.json must be this model's report and say it passed.
 * A failed or missing report is a GateError unless `force` gives a reason.
 */
async function validationGate(
  dir: string,
  modelId: string,
  force: Force | undefined,
): Promise<{ verdict: ValidationVerdict; forced: boolean }> {
  const status = await readValidationStatus(dir);
  if (status.verdict === 'invalid') throw new InputError(`${status.path}: ${status.problem ?? 'invalid'}`);
  if (status.modelId !== null && status.modelId !== modelId)
    throw new InputError(
      `${status.path}: validation.json is the report of ${status.modelId}, not of ${modelId}`,
    );
  if (status.verdict === 'passed') return { verdict: 'passed', forced: false };
  if (force !== undefined) return { verdict: status.verdict, forced: true };
  const what =
    status.verdict === 'failed'
      ? `${modelId} did not pass validation (${status.path}: "passed": false)`
      : `${status.path} is missing: ${modelId} was never validated`;
  throw new GateError(`${what}; to deploy it anyway, force it with a reason (--force --reason TEXT)`);
}

function refusal(dir: string, message: string, cause?: unknown): FleetcastError {
  return new InputError(`refusing ${dir}: ${message}`, cause === undefined ? {} : { cause });
}

export interface ModelChangeOptions {
  force?: Force;
  now?: Date;
  lockTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface CheckedPointerChange extends PointerChange {
  /** The checks the new model passed (null when the pointer did not change). */
  check: DeployCheck | null;
}

/**
 * `fleetcast deploy`: points the registry at `modelId` once it passes every check above, all
 * while holding the pointer lock. A forced deploy's reason says so in the pointer.
 */
export async function deployModel(
  registry: string,
  modelId: string,
  reason: string,
  options: ModelChangeOptions = {},
): Promise<CheckedPointerChange> {
  let check: DeployCheck | null = null;
  const change = await deploy(registry, modelId, reason, {
    ...pointerOptions(options),
    check: async (model) => {
      check = await checkModel(model, options);
      return check.forced ? { reason: forcedReason(check, options.force) } : undefined;
    },
  });
  return { ...change, check: change.changed ? check : null };
}

/** `fleetcast rollback`: like a deploy, to the previous model (or `to`). */
export async function rollbackModel(
  registry: string,
  options: ModelChangeOptions & { to?: string; reason?: string },
): Promise<CheckedPointerChange> {
  let check: DeployCheck | null = null;
  const change = await rollback(registry, {
    ...pointerOptions(options),
    ...(options.to === undefined ? {} : { to: options.to }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    check: async (model) => {
      check = await checkModel(model, options);
      return check.forced ? { reason: forcedReason(check, options.force) } : undefined;
    },
  });
  return { ...change, check };
}

function checkModel(model: VerifiedModel, options: ModelChangeOptions): Promise<DeployCheck> {
  return checkDeployable(model.dir, {
    expectedDigest: model.digest,
    ...(options.force === undefined ? {} : { force: options.force }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/** The pointer's reason for a forced deploy: says that validation did not pass, then why. */
function forcedReason(check: DeployCheck, force: Force | undefined): string {
  return `forced past validation (${check.validation}): ${force?.reason ?? ''}`;
}

function pointerOptions(options: ModelChangeOptions) {
  return {
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
}
