/**
 * Noticing changes to a few files: `fs.watch` on their directories (which sees renames, so it
 * follows files that are replaced atomically and symlink swaps), with a polling fallback that
 * compares `stat` results, both feeding one debounced callback.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Default interval of the polling fallback, in ms. */
const DEFAULT_POLL_INTERVAL_MS = 1000;
/** Quiet time after the last directory event before reloading, in ms. */
const DEFAULT_DEBOUNCE_MS = 40;

/** What identifies a file's current contents well enough to notice a change. */
function signature(path: string): string {
  try {
    // statSync follows symlinks: a swapped `..data` link changes the target's inode.
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/** Options of {@link FileChangeWatcher}. */
export interface FileChangeWatcherOptions {
  pollIntervalMs?: number;
  debounceMs?: number;
  /** Use `fs.watch` on the directories (default true; false leaves polling alone, for tests). */
  fsWatch?: boolean;
}

/**
 * @internal Calls `onChange` (debounced) when any of `files` may have changed. Like `fs.watch`,
 * an open watcher keeps the process alive until {@link FileChangeWatcher.close}.
 */
export class FileChangeWatcher {
  readonly #files: string[];
  readonly #onChange: () => void;
  readonly #debounceMs: number;
  readonly #watchers: FSWatcher[] = [];
  readonly #poll: NodeJS.Timeout;
  #signatures: string[];
  #debounce: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(files: readonly string[], onChange: () => void, options: FileChangeWatcherOptions = {}) {
    this.#files = files.map((f) => resolve(f));
    this.#onChange = onChange;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#signatures = this.#files.map(signature);
    const dirs = options.fsWatch === false ? [] : new Set(this.#files.map((f) => dirname(f)));
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, () => this.#schedule());
        // A watcher can fail later (directory removed, too many watches): polling still runs.
        watcher.on('error', () => watcher.close());
        this.#watchers.push(watcher);
      } catch {
        // fs.watch is unavailable here (some network file systems): polling covers it.
      }
    }
    this.#poll = setInterval(() => this.#check(), options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    if (this.#debounce) clearTimeout(this.#debounce);
    for (const w of this.#watchers) w.close();
  }

  #check(): void {
    if (this.#closed) return;
    const now = this.#files.map(signature);
    if (now.some((s, i) => s !== this.#signatures[i])) this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      if (this.#closed) return;
      this.#signatures = this.#files.map(signature);
      this.#onChange();
    }, this.#debounceMs);
  }
}
