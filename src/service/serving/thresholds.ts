import { DEFAULT_RETRAIN_CONFIG, eligibilityPolicyOf } from '../../config/retrain-config.js';
import { thresholdsOf } from '../../drift/levels.js';

/** Drift and unknown-rate thresholds the service reports against: the retrain policy's defaults. */
export const SERVICE_THRESHOLDS = thresholdsOf(DEFAULT_RETRAIN_CONFIG);

/** When a new server may be trained on (pending until then): the retrain policy's defaults. */
export const SERVICE_ELIGIBILITY = eligibilityPolicyOf(DEFAULT_RETRAIN_CONFIG);
