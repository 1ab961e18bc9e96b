import type { RecentWindow, WindowShape } from '../../features/windows.js';

/** The latest input window of every server with recent metrics, for one window shape. */
export interface WindowSnapshot {
  key: string;
  windows: ReadonlyMap<string, RecentWindow>;
  loadedAt: Date;
  /** Newest metric timestamp in the source when loaded (null for an empty source). */
  newestData: Date | null;
}

export type WindowFetcher = (shape: WindowShape) => Promise<Omit<WindowSnapshot, 'key' | 'loadedAt'>>;

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
        const snapshot: WindowSnapshot = { key, loadedAt: this.now(), ...loaded };
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
