/**
 * The demo's story in time. Metrics are generated once, ending now; the initial model is trained
 * "as of" t0, a month earlier, when the servers planted as sunset were still reporting and the
 * planted new servers did not exist yet. Between t0 and now the fleet changes exactly as planned.
 */
export const DAY_MS = 86_400_000;
/** t0 sits this long before now: past the 30-day sunset-confirmed threshold (silences of 31-32 days). */
export const INITIAL_MODEL_AGE_DAYS = 33;
/** Training window of each model (the train command's default). */
export const TRAINING_DAYS = 30;

export interface DemoTimeline {
  now: Date;
  t0: Date;
  /** Days of metrics to generate so that t0 still has a full training window before it. */
  days: number;
}

export function demoTimeline(clock: Date): DemoTimeline {
  const hour = 3_600_000;
  const now = new Date(Math.floor(clock.getTime() / hour) * hour);
  const t0 = new Date(now.getTime() - INITIAL_MODEL_AGE_DAYS * DAY_MS);
  return { now, t0, days: INITIAL_MODEL_AGE_DAYS + TRAINING_DAYS + 3 };
}
