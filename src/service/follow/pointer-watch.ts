import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface PointerWatchOptions {
  /** Polling interval: the fallback when fs events are missed (network filesystems, renames). */
  pollMs?: number;
  /** fs events arrive in bursts (write + rename); wait this long before reacting. */
  debounceMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Calls `onChange` when the pointer file's content changes. git checkouts and writeFileAtomic
 * replace the file by rename, which ends a watch on the file itself, so the watch is on its
 * directory; polling the content covers filesystems without reliable events.
 */
export class PointerWatcher {
  private watcher: FSWatcher | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private lastText: string | null | undefined = undefined;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly options: PointerWatchOptions = {},
  ) {}

  async start(): Promise<void> {
    this.lastText = await this.read();
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name || file.startsWith(`.${name}.`)) this.schedule();
      });
      this.watcher.on('error', (error) => this.options.onError?.(error));
    } catch (error) {
      this.options.onError?.(error); // polling still runs
    }
    this.pollTimer = setInterval(() => void this.check(), this.options.pollMs ?? 2000);
    this.pollTimer.unref();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    this.pollTimer = null;
    this.debounceTimer = null;
  }

  private schedule(): void {
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.check();
    }, this.options.debounceMs ?? 100);
    this.debounceTimer.unref();
  }

  /** Compares content (not mtime): a revert can restore an older file with a newer mtime. */
  private check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const text = await this.read();
        if (text !== this.lastText) {
          this.lastText = text;
          this.onChange();
        }
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  private async read(): Promise<string | null> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
}
