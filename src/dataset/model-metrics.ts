import { InputError } from '../core/errors.js';
import { metricSetConfig, type MetricColumn } from '../metrics/metric-set.js';
import type { Encoders } from '../registry/schemas.js';
import type { DatasetMetrics } from './build.js';

/**
 * The metric set an existing model was trained on, to read data for it exactly as it was trained:
 * from its encoders.json, or, for a model from before metric sets, the data contract's columns.
 */
export function modelMetrics(encoders: Encoders): DatasetMetrics {
  const contract = metricSetConfig().columns;
  const features = encoders.observed_features.map((name): MetricColumn => {
    const recorded = encoders.metrics?.[name];
    if (recorded !== undefined)
      return {
        name,
        description: '',
        outOfRange: contract.get(name)?.outOfRange ?? 'clip',
        ...recorded,
        max: recorded.max ?? Number.POSITIVE_INFINITY,
      };
    const known = contract.get(name);
    if (known === undefined)
      throw new InputError(`model ${encoders.model_id}: encoders.json has no metric record for ${name}`);
    return known;
  });
  return { targets: encoders.targets, features };
}
