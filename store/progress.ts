/**
 * How far the store's commits got (pure): a count of changes that only grows, and the callers waiting for it to
 * reach theirs. The store keeps two: changes written into the file, and changes durable (synced) there.
 */

/** A caller waiting until the count reaches `want`. */
interface Waiter {
  readonly want: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class Progress {
  #level = 0;
  readonly #waiters = new Set<Waiter>();

  /** Changes covered so far. */
  get level(): number {
    return this.#level;
  }

  /** How many callers still wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Resolves once the count reaches `want` (at once when it has); rejects when fail() names it first. */
  until(want: number): Promise<void> {
    if (want <= this.#level) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#waiters.add({ want, resolve, reject }));
  }

  /** The count reached `level` (a lower one changes nothing): every caller it covers is resolved. */
  reach(level: number): void {
    this.#level = Math.max(this.#level, level);
    for (const w of this.#waiters) {
      if (w.want > this.#level) continue;
      this.#waiters.delete(w);
      w.resolve();
    }
  }

  /** The write that was to cover changes up to `upTo` (default: all) failed: the callers still waiting within it get `err`. */
  fail(err: unknown, upTo = Number.POSITIVE_INFINITY): void {
    for (const w of this.#waiters) {
      if (w.want > upTo) continue;
      this.#waiters.delete(w);
      w.reject(err);
    }
  }
}
