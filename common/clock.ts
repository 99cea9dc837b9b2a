/**
 * Clock: injected wherever time matters (timeouts, TTLs, cool-downs) so tests
 * can use a fake (STYLE G12).
 */

/** Milliseconds-based clock with cancellable timers. */
export interface Clock {
  /** Current time in milliseconds (monotonic where possible). */
  now(): number;
  /** Call `fn` after `ms`; returns a cancel function. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/**
 * The real clock: performance.now() and the global timers. Delays are rounded
 * up to whole milliseconds (the timers' resolution): Node keeps one timer list
 * per distinct delay, so thousands of timers of a few distinct delays share
 * a few lists instead of one list each.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.ceil(ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/** A manual clock for tests: time moves only through advance(). */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const id = this.#nextId++;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }

  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }
}
