export {
  computeDrift,
  fleetDrift,
  driftPercent,
  driftPriority,
  unknownRateLevel,
  thresholdsOf,
} from './compute.js';
export type { DriftInput } from './compute.js';
export { runDriftCheck, driftEvents } from './check.js';
export type { DriftCheckOptions } from './check.js';
export { renderDriftText } from './render.js';
export type * from './types.js';
export { FileUnknownCounts, ServiceUnknownCounts } from './unknown-rate.js';
export type { UnknownCounts, UnknownCountSource } from './unknown-rate.js';
export { readRegistryVocabulary, readServerList, parseServerList } from './vocabulary.js';
export type { ModelVocabulary } from './vocabulary.js';
