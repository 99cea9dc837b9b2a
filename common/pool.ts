/**
 * A bounded pool of exclusive resources (sockets): each resource serves one
 * user at a time, at most `size` exist, they are made on demand and kept;
 * users beyond that wait in FIFO order. Pure (the factory is injected).
 */

/** Options of a pool. */
export interface PoolOptions<T> {
  /** The most resources that exist at once (≥ 1). */
  readonly size: number;
  /** Make one resource; a throw fails the `use` that asked for it (and frees its slot). */
  readonly create: () => T;
}

/** Counters of a pool (tests, metrics). */
export interface PoolStats {
  /** Resources made so far. */
  readonly created: number;
  /** Resources existing now (idle + busy). */
  readonly open: number;
  /** Resources lent out now. */
  readonly busy: number;
  /** Users waiting for one. */
  readonly waiting: number;
}

/** A bounded pool of exclusive resources. */
export class ExclusivePool<T> {
  readonly #size: number;
  readonly #create: () => T;
  readonly #idle: T[] = [];
  readonly #waiting: ((item: T) => void)[] = [];
  #open = 0;
  #created = 0;

  constructor(options: PoolOptions<T>) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`pool size must be a positive integer, got ${options.size}`);
    this.#size = options.size;
    this.#create = options.create;
  }

  /** Run `fn` with a resource nobody else holds until `fn` settles; rejects with `fn`'s or the factory's error. */
  async use<R>(fn: (item: T) => Promise<R>): Promise<R> {
    const item = await this.#acquire();
    try {
      return await fn(item);
    } finally {
      this.#release(item);
    }
  }

  /** How many resources were made, exist, are lent out, and how many users wait. */
  get stats(): PoolStats {
    return { created: this.#created, open: this.#open, busy: this.#open - this.#idle.length, waiting: this.#waiting.length };
  }

  #acquire(): Promise<T> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#open < this.#size) {
      this.#open++;
      try {
        const item = this.#create();
        this.#created++;
        return Promise.resolve(item);
      } catch (err) {
        this.#open--;
        return Promise.reject(err);
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(item: T): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(item);
    else this.#idle.push(item);
  }
}
