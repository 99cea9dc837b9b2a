/**
 * Watch one file for content changes (C5). The parent directory is
 * watched, not the file, because editors and resolvconf(8) replace the file by
 * rename; a cheap stat poll (mtime, size, inode) catches what inotify misses.
 * Bursts are coalesced by a debounce; a callback fires only when the text changed.
 */
import { watch, promises as fs, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../common/log.js';

/** Options of watchFileText (already normalised by the caller, G9). */
export interface FileWatchOptions {
  /** Quiet time after the last event before the file is read. */
  debounceMs: number;
  /** Period of the stat fallback. */
  pollMs: number;
  logger: Logger;
}

/** Receives the file's text (undefined when missing); `initial` marks the baseline read. */
export type TextListener = (text: string | undefined, initial: boolean) => void;

/** A running watch. */
export interface FileWatch {
  close(): void;
}

/** mtime, size and inode of the file, or 'missing'. */
async function statKey(path: string): Promise<string> {
  try {
    const st = await fs.stat(path, { bigint: true });
    return `${st.mtimeNs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

/** Read the file's text, or undefined when it does not exist. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Start fs.watch on the directory; a failure leaves the poll in charge. */
function watchDirectory(path: string, onEvent: () => void, logger: Logger): FSWatcher | undefined {
  const base = basename(path);
  try {
    const watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename === null || filename === base) onEvent();
    });
    watcher.on('error', (err) => {
      logger.warn({ err, path }, 'directory watch failed; relying on polling');
      watcher.close();
    });
    return watcher;
  } catch (err) {
    logger.warn({ err, path }, 'cannot watch directory; relying on polling');
    return undefined;
  }
}

/** One running watch: a debounced, serialized read-and-compare loop (C5). */
class FileTextWatch implements FileWatch {
  readonly #path: string;
  readonly #onText: TextListener;
  readonly #opts: FileWatchOptions;
  readonly #maxWaitMs: number;
  readonly #poll: NodeJS.Timeout;
  readonly #watcher: FSWatcher | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #burstStart: number | undefined;
  #lastText: string | undefined | null = null; // null: baseline not read yet
  #lastStat = '';
  #running = false;
  #rerun = false;

  constructor(path: string, onText: TextListener, opts: FileWatchOptions) {
    this.#path = path;
    this.#onText = onText;
    this.#opts = opts;
    this.#maxWaitMs = Math.max(opts.debounceMs * 10, 1000);
    this.#poll = setInterval(() => void this.#pollOnce(), opts.pollMs);
    this.#poll.unref();
    this.#watcher = watchDirectory(path, () => this.#schedule(), opts.logger);
    void this.#check();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#watcher?.close();
  }

  /** The stat fallback: a changed mtime, size or inode schedules a read. */
  async #pollOnce(): Promise<void> {
    if ((await statKey(this.#path)) !== this.#lastStat) this.#schedule();
  }

  /** Trailing debounce, capped so a never-ending burst is still read. */
  #schedule(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#burstStart ??= now;
    clearTimeout(this.#timer);
    const wait = Math.min(this.#opts.debounceMs, Math.max(0, this.#burstStart + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => {
      this.#burstStart = undefined;
      void this.#check();
    }, wait);
    this.#timer.unref();
  }

  /** Read and compare, one at a time; a request during a read runs once more after it. */
  async #check(): Promise<void> {
    if (this.#running) {
      this.#rerun = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#rerun = false;
        await this.#readAndEmit();
      } while (this.#rerun && !this.#closed);
    } finally {
      this.#running = false;
    }
  }

  async #readAndEmit(): Promise<void> {
    let text: string | undefined;
    try {
      this.#lastStat = await statKey(this.#path);
      text = await readText(this.#path);
    } catch (err) {
      this.#opts.logger.warn({ err, path: this.#path }, 'cannot read watched file');
      return;
    }
    if (this.#closed || text === this.#lastText) return;
    const initial = this.#lastText === null;
    this.#lastText = text;
    try {
      this.#onText(text, initial);
    } catch (err) {
      this.#opts.logger.error({ err, path: this.#path }, 'file watch listener failed');
    }
  }
}

/** Watch `path`: `onText` gets the baseline text, then each changed text (C5). */
export function watchFileText(path: string, onText: TextListener, opts: FileWatchOptions): FileWatch {
  return new FileTextWatch(path, onText, opts);
}
