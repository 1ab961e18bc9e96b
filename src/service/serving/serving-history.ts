import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { getErrorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { LiveModelAccuracy } from './live-accuracy.js';

/**
 * What the dashboard draws over time, kept in the service's state directory beside
 * live-accuracy.json (never the GitOps repository): the swaps of the serving model (deploy and
 * rollback markers) and the fleet-wide live q-risk of each model, sampled as scoring cycles run.
 * Both are bounded; both files are written atomically. A missing file is a first start; a corrupt
 * one is logged with the reason, reported in `loadProblems`, and replaced by an empty history.
 */
export const SWAP_EVENTS_FILE = 'swap-events.json';
export const ACCURACY_HISTORY_FILE = 'live-accuracy-history.json';

export const SwapEvent = z.strictObject({
  at: z.iso.datetime(),
  /** null: the first model this state directory has seen serve. */
  from: z.string().nullable(),
  to: z.string(),
  /** `rollback`: the new model was trained before the one it replaced (a revert or a pin). */
  kind: z.enum(['deploy', 'rollback']),
});
export type SwapEvent = z.infer<typeof SwapEvent>;

const SwapEventsFile = z.strictObject({ format_version: z.literal(1), events: z.array(SwapEvent) });

/** One model's samples: `[epoch seconds, scored points, q-risk per target × quantile (null: none yet)]`. */
export const AccuracySeries = z.strictObject({
  model: z.string(),
  targets: z.array(z.string()),
  quantiles: z.array(z.number()),
  samples: z.array(z.tuple([z.number(), z.number().int(), z.array(z.number().nullable())])),
});
export type AccuracySeries = z.infer<typeof AccuracySeries>;

const AccuracyHistoryFile = z.strictObject({
  format_version: z.literal(1),
  models: z.array(
    AccuracySeries.superRefine((m, ctx) => {
      const width = m.targets.length * m.quantiles.length;
      const bad = m.samples.findIndex((s) => s[2].length !== width);
      if (bad >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['samples', bad],
          message: `model ${m.model}: ${m.samples[bad]![2].length} values, expected ${width}`,
        });
    }),
  ),
});

export interface ServingHistoryOptions {
  /** Where the files live; omitted: in memory only. */
  stateDir?: string;
  logger: Logger;
  now: () => Date;
  /** Swap events kept (oldest dropped first); default 200. */
  maxSwapEvents?: number;
  /** Models whose accuracy series are kept (least recently sampled dropped); default 10. */
  maxModels?: number;
  /** Samples kept per model (oldest dropped); default 2,016 (a week at the default spacing). */
  maxSamples?: number;
  /** Least time between two samples; default 5 min. */
  sampleSpacingSeconds?: number;
}

/** `tft-20261101T000000Z-abcdef` → `20261101T000000Z` (ids sort by training time). */
function trainedStamp(modelId: string): string {
  return /^tft-(\d{8}T\d{6}Z)-/.exec(modelId)?.[1] ?? modelId;
}

export class ServingHistory {
  private events: SwapEvent[] = [];
  private series = new Map<string, AccuracySeries>();
  private readonly maxSwapEvents: number;
  private readonly maxModels: number;
  private readonly maxSamples: number;
  private readonly spacing: number;
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  private writing: Promise<void> = Promise.resolve();
  /** Why a file could not be read at start (it was replaced by an empty history), by file name. */
  readonly loadProblems = new Map<string, string>();

  constructor(private readonly options: ServingHistoryOptions) {
    this.maxSwapEvents = Math.max(1, options.maxSwapEvents ?? 200);
    this.maxModels = Math.max(1, options.maxModels ?? 10);
    this.maxSamples = Math.max(1, options.maxSamples ?? 2016);
    this.spacing = options.sampleSpacingSeconds ?? 300;
  }

  get swapEvents(): readonly SwapEvent[] {
    return this.events;
  }

  /** Accuracy series, most recently sampled first. */
  get accuracy(): readonly AccuracySeries[] {
    return [...this.series.values()].reverse();
  }

  private path(file: string): string | null {
    return this.options.stateDir === undefined ? null : join(this.options.stateDir, file);
  }

  /**
   * A model started serving. The first load after a restart of the model that served before is no
   * event; a different one is (it changed while the service was down).
   */
  async swapped(from: string | null, to: string): Promise<void> {
    const last = this.events[this.events.length - 1];
    const previous = from ?? last?.to ?? null;
    if (previous === to) return;
    const kind = previous !== null && trainedStamp(to) < trainedStamp(previous) ? 'rollback' : 'deploy';
    this.events.push({ at: this.options.now().toISOString(), from: previous, to, kind });
    if (this.events.length > this.maxSwapEvents)
      this.events.splice(0, this.events.length - this.maxSwapEvents);
    await this.write(SWAP_EVENTS_FILE, { format_version: 1, events: this.events });
  }

  /**
   * Samples the fleet-wide live q-risk of each model that has scored points, at most once per
   * spacing. `summary` is called only when a sample is due (it walks every server).
   */
  sampleAccuracy(summary: () => readonly LiveModelAccuracy[]): void {
    const now = Math.floor(this.options.now().getTime() / 1000);
    if (now - this.lastSampleAt < this.spacing) return;
    this.lastSampleAt = now;
    for (const model of summary()) {
      if (model.scored_points === 0) continue;
      const targets = [...new Set(model.q_risk.map((q) => q.target))];
      const quantiles = [...new Set(model.q_risk.map((q) => q.quantile))];
      let series = this.series.get(model.model);
      if (series === undefined || series.targets.join() !== targets.join()) {
        series = { model: model.model, targets, quantiles, samples: [] };
      }
      // re-inserted: the map's order is the order of the latest sample
      this.series.delete(model.model);
      this.series.set(model.model, series);
      const values = targets.flatMap((t) =>
        quantiles.map((q) => {
          const v = model.q_risk.find((r) => r.target === t && r.quantile === q)?.q_risk ?? null;
          return v === null ? null : Number(v.toPrecision(4));
        }),
      );
      series.samples.push([now, model.scored_points, values]);
      if (series.samples.length > this.maxSamples)
        series.samples.splice(0, series.samples.length - this.maxSamples);
    }
    while (this.series.size > this.maxModels) this.series.delete(this.series.keys().next().value!);
  }

  /** Writes the accuracy history (the swap events are written as they happen). */
  async save(): Promise<void> {
    await this.write(ACCURACY_HISTORY_FILE, { format_version: 1, models: [...this.series.values()] });
  }

  /** Reads both files; a corrupt one is logged, reported in `loadProblems` and started over. */
  async load(): Promise<void> {
    const events = await this.read(SWAP_EVENTS_FILE, SwapEventsFile);
    if (events !== null) this.events = events.events.slice(-this.maxSwapEvents);
    const history = await this.read(ACCURACY_HISTORY_FILE, AccuracyHistoryFile);
    if (history !== null) {
      this.lastSampleAt = Math.max(...history.models.map((m) => m.samples.at(-1)?.[0] ?? -Infinity));
      this.series = new Map(
        history.models
          .slice(-this.maxModels)
          .map((m) => [m.model, { ...m, samples: m.samples.slice(-this.maxSamples) }]),
      );
    }
  }

  private async read<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
    const path = this.path(file);
    if (path === null) return null;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return this.problem(file, path, `unreadable: ${getErrorMessage(error)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.problem(file, path, `not JSON: ${getErrorMessage(error)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return this.problem(file, path, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return parsed.data;
  }

  private problem(file: string, path: string, reason: string): null {
    this.loadProblems.set(file, reason);
    this.options.logger.warn({ path, reason }, `${file} is corrupt; starting an empty history`);
    return null;
  }

  /** Writes one after another, so an older text never lands after a newer one. */
  private write(file: string, value: unknown): Promise<void> {
    const path = this.path(file);
    if (path === null) return Promise.resolve();
    const text = `${JSON.stringify(value)}\n`;
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(path, text);
      } catch (error) {
        this.options.logger.warn({ path, error: getErrorMessage(error) }, `writing ${file} failed`);
      }
    });
    return this.writing;
  }
}
