/** The files of a model directory (docs/MODEL_FORMAT.md). SHA256SUMS lists all the others. */
export const MODEL_FILES = {
  model: 'model.onnx',
  encoders: 'encoders.json',
  mapping: 'server_mapping.json',
  normalization: 'normalization.json',
  trainingInfo: 'training_info.json',
  validation: 'validation.json',
} as const;

export const REQUIRED_MODEL_FILES: readonly string[] = Object.values(MODEL_FILES);

/** A candidate (a train work dir's model before validation) has every file but validation.json. */
export const CANDIDATE_MODEL_FILES: readonly string[] = REQUIRED_MODEL_FILES.filter(
  (name) => name !== MODEL_FILES.validation,
);
