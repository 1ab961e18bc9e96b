import { windowProblem } from '../../features/forecast-input.js';
import type { RecentWindow, WindowShape } from '../../features/windows.js';

/** Server names in the metrics that fail the server-name rule: skipped, counted, a few shown. */
export interface InvalidNames {
  count: number;
  /** At most 5, each a bounded preview (src/core/server-name.ts `preview`). */
  examples: string[];
}

/** The latest input window of every server with recent metrics, for one window shape. */
export interface WindowSnapshot {
  key: string;
  windows: ReadonlyMap<string, RecentWindow>;
  loadedAt: Date;
  /**
   * The forecast cycle: every load of the windows starts a new one (numbers increase). Between two
   * loads a server's input, and so its forecast, does not change.
   */
  cycle: number;
  /** Newest metric timestamp in the source when loaded (null for an empty source). */
  newestData: Date | null;
  /** Servers the metrics show as not yet eligible for training (pending), with why. */
  pending: ReadonlyMap<string, string>;
  invalidNames: InvalidNames;
  /**
   * Servers whose window a model of this shape cannot take (wrong size, a NaN or an Inf), with
   * why; checked once per load, so requests do not scan every value again. Windows loaded from
   * metrics never are; this guards every other fetcher.
   */
  problems: ReadonlyMap<string, string>;
}

/** Loads the windows of one shape; `pending` and `invalidNames` default to none, `problems` is computed. */
export type WindowFetcher = (
  shape: WindowShape,
) => Promise<
  Omit<WindowSnapshot, 'key' | 'loadedAt' | 'cycle' | 'pending' | 'invalidNames' | 'problems'> &
    Partial<Pick<WindowSnapshot, 'pending' | 'invalidNames'>>
>;

export function shapeKey(shape: WindowShape): string {
  return `${shape.resolution_seconds}s/${shape.lookback_steps}/${shape.observed_features.join(',')}`;
}

/**
 * Keeps the latest windows in memory so a request costs little more than session.run. Models with
 * the same resolution, lookback and features share one snapshot; loads of one shape coalesce.
 */
export class WindowCache {
  private readonly snapshots = new Map<string, WindowSnapshot>();
  private readonly loading = new Map<string, Promise<WindowSnapshot>>();
  private cycles = 0;

  constructor(
    private readonly fetcher: WindowFetcher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get(shape: WindowShape): WindowSnapshot | undefined {
    return this.snapshots.get(shapeKey(shape));
  }

  /** The cached snapshot, loading it first when this shape has none. */
  async ensure(shape: WindowShape): Promise<WindowSnapshot> {
    return this.snapshots.get(shapeKey(shape)) ?? this.refresh(shape);
  }

  /** Reloads the snapshot; readers keep the old one until the new one is complete. */
  refresh(shape: WindowShape): Promise<WindowSnapshot> {
    const key = shapeKey(shape);
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const load = this.fetcher(shape)
      .then((loaded) => {
        const problems = new Map<string, string>();
        for (const [server, window] of loaded.windows) {
          const problem = windowProblem(window.input.past, shape);
          if (problem !== undefined) problems.set(server, problem);
        }
        const snapshot: WindowSnapshot = {
          key,
          loadedAt: this.now(),
          cycle: ++this.cycles,
          pending: new Map(),
          invalidNames: { count: 0, examples: [] },
          ...loaded,
          problems,
        };
        this.snapshots.set(key, snapshot);
        return snapshot;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, load);
    return load;
  }

  /** Drops snapshots no loaded model uses any more (requests in flight keep their own reference). */
  retainOnly(shapes: readonly WindowShape[]): void {
    const keep = new Set(shapes.map(shapeKey));
    for (const key of this.snapshots.keys()) if (!keep.has(key)) this.snapshots.delete(key);
  }
}
