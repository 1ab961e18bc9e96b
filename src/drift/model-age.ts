import { MS_PER_DAY } from '../metrics/contract.js';
import { round2 } from '../fleet/assess.js';
import type { ModelVocabulary } from './vocabulary.js';

/** Where a model's age is measured from: the end of its training data, or (older models) its creation. */
export type AgeFrom = 'data_end' | 'created_at';

export interface ModelAge {
  /** Days from `from` to now, 2 decimals; null when unknown or when that time is after now. */
  ageDays: number | null;
  from: AgeFrom | null;
  /** The instant the age is measured from (ISO), or null. */
  since: string | null;
  /** Said in the report whenever the age is not the plain "days since its data ended". */
  note: string | null;
}

/**
 * The one rule for a model's age as of `now` (docs/drift.md, "Model age"): the time since the end
 * of the data it was trained on (training_info.json `data.end`), so a replay with `--now` in the
 * past ages the model against the data's clock, not the wall clock of its training. A model whose
 * training_info.json has no data end is dated by its creation time, and the note says so. A model
 * whose data (or creation) is after `now` gets no age, never a negative one; the note says why.
 */
export function modelAge(model: ModelVocabulary, now: Date): ModelAge {
  const at = now.toISOString();
  if (model.trainedOn !== null) {
    const { end, resolutionSeconds } = model.trainedOn;
    const since = end.toISOString();
    const ms = now.getTime() - end.getTime();
    if (ms >= 0) return { ageDays: round2(ms / MS_PER_DAY), from: 'data_end', since, note: null };
    // data.end closes the last bucket: a now inside that bucket is the data's own present.
    if (-ms <= resolutionSeconds * 1000) return { ageDays: 0, from: 'data_end', since, note: null };
    return {
      ageDays: null,
      from: 'data_end',
      since,
      note: `the model was trained on data up to ${since}, which is after now (${at}): its age is not measured`,
    };
  }
  if (model.trainedAt === null) return { ageDays: null, from: null, since: null, note: null };
  const since = model.trainedAt.toISOString();
  const ms = now.getTime() - model.trainedAt.getTime();
  if (ms < 0)
    return {
      ageDays: null,
      from: 'created_at',
      since,
      note: `the model was created at ${since}, after now (${at}), and its training_info.json does not say when its data ends: its age is not measured`,
    };
  return {
    ageDays: round2(ms / MS_PER_DAY),
    from: 'created_at',
    since,
    note: `age measured from the model's creation (${since}): its training_info.json does not say when its data ends`,
  };
}

/** The age fields of a drift report's `model`. */
export interface ReportedAge {
  trained_at: string | null;
  data_end: string | null;
  age_days: number | null;
  age_from: AgeFrom | null;
}

/**
 * "12.3 days old (its data ends 2013-09-01)", or what is known instead: the model's age in the
 * text report, the drift pull request and the action summary.
 */
export function describeModelAge(m: ReportedAge, now: string): string {
  const since = m.age_from === 'data_end' ? m.data_end : m.trained_at;
  if (m.age_from === null || since === null) return 'n/a';
  if (m.age_days === null)
    return m.age_from === 'data_end'
      ? `trained on data up to ${since}, which is after now (${now})`
      : `created ${since}, after now (${now}); age unknown`;
  return m.age_from === 'data_end'
    ? `${m.age_days.toFixed(1)} days old (its data ends ${since.slice(0, 10)})`
    : `${m.age_days.toFixed(1)} days old (since created ${since.slice(0, 10)}; no data end recorded)`;
}
