import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface PointerWatchOptions {
  /** Polling interval: the fallback when fs events are missed (network filesystems, renames). */
  pollMs?: number;
  /** fs events arrive in bursts (write + rename); the file must be still this long before it is read. */
  debounceMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Calls `onChange` when the pointer file's content changes. git checkouts and writeFileAtomic
 * replace the file by rename, which ends a watch on the file itself, so chokidar watches its
 * directory (for that one file); polling the content covers filesystems without reliable events.
 */
export class PointerWatcher {
  private watcher: FSWatcher | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private lastText: string | null | undefined = undefined;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly options: PointerWatchOptions = {},
  ) {}

  async start(): Promise<void> {
    this.lastText = await this.read();
    const file = resolve(this.path);
    const dir = dirname(file);
    const debounceMs = this.options.debounceMs ?? 100;
    const watcher = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      persistent: false,
      ignored: (path) => path !== dir && path !== file,
      // a write, or an unlink and add from a rename (chokidar's `atomic`), is reported once the
      // file has kept its size for debounceMs
      awaitWriteFinish: {
        stabilityThreshold: debounceMs,
        pollInterval: Math.max(5, Math.round(debounceMs / 4)),
      },
    });
    watcher.on('all', () => void this.check());
    watcher.on('error', (error) => this.options.onError?.(error)); // polling still runs
    await new Promise<void>((ready) => watcher.once('ready', ready));
    this.watcher = watcher;
    this.pollTimer = setInterval(() => void this.check(), this.options.pollMs ?? 2000);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.close();
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
