/**
 * Names being created (L5): a create reserves its key (`net:<name>`, `sb:<id>`) for as long as it runs, so a
 * concurrent create of the same name fails at once with the caller's error instead of racing it.
 */
export class Reservations {
  readonly #pending = new Set<string>();

  /** Run `fn` with `key` reserved; taken (by `exists()` or a create in flight) throws `error()` and runs nothing. */
  async run<T>(key: string, exists: () => boolean, error: () => Error, fn: () => Promise<T>): Promise<T> {
    if (exists() || this.#pending.has(key)) throw error();
    this.#pending.add(key);
    try {
      return await fn();
    } finally {
      this.#pending.delete(key);
    }
  }
}
