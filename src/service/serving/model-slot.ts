import type { ServingModel } from '../serving-model.js';

/** A model borrowed for one request; `done()` must be called exactly once (extra calls are ignored). */
export interface ModelLease {
  readonly model: ServingModel;
  done(): void;
}

interface Entry {
  model: ServingModel;
  inFlight: number;
  retired: boolean;
  activatedAt: Date;
}

/**
 * Holds the active model and counts the requests using each model, so a swap is a single
 * assignment and the old session is released only after its last in-flight request finishes.
 */
export class ModelSlot {
  private active: Entry | null = null;
  private readonly retiring = new Set<Entry>();
  private readonly drained = new Set<() => void>();

  constructor(private readonly onReleaseError: (model: ServingModel, error: unknown) => void = () => {}) {}

  get current(): ServingModel | null {
    return this.active?.model ?? null;
  }

  get activatedAt(): Date | null {
    return this.active?.activatedAt ?? null;
  }

  /** Models swapped out but still serving requests that started before the swap. */
  get retiringCount(): number {
    return this.retiring.size;
  }

  acquire(): ModelLease | null {
    const entry = this.active;
    if (entry === null) return null;
    entry.inFlight++;
    let finished = false;
    return {
      model: entry.model,
      done: () => {
        if (finished) return;
        finished = true;
        entry.inFlight--;
        if (entry.retired && entry.inFlight === 0) this.releaseEntry(entry);
      },
    };
  }

  /** Makes `next` the active model; the previous one is released once idle. Returns the previous. */
  swap(next: ServingModel, now = new Date()): ServingModel | null {
    const previous = this.active;
    this.active = { model: next, inFlight: 0, retired: false, activatedAt: now };
    if (previous !== null) this.retire(previous);
    return previous?.model ?? null;
  }

  /** Retires the active model too (shutdown); resolves once every model is released. */
  async close(): Promise<void> {
    if (this.active !== null) {
      const entry = this.active;
      this.active = null;
      this.retire(entry);
    }
    if (this.retiring.size === 0) return;
    await new Promise<void>((resolve) => this.drained.add(resolve));
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    this.retiring.add(entry);
    if (entry.inFlight === 0) this.releaseEntry(entry);
  }

  private releaseEntry(entry: Entry): void {
    entry.model
      .release()
      .catch((error: unknown) => this.onReleaseError(entry.model, error))
      .finally(() => {
        this.retiring.delete(entry);
        if (this.retiring.size === 0) {
          for (const resolve of this.drained) resolve();
          this.drained.clear();
        }
      });
  }
}
