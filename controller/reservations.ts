/**
 * Names being created (L5): a create reserves its key (`net:<name>`, `sb:<id>`) for as long as it runs. A second
 * create of the same name waits for the first to answer and then looks again: it fails with the caller's error only
 * when the name is taken by then, so a refusal never rests on a create that later failed or was undone by a crash.
 */
export class Reservations {
  readonly #pending = new Map<string, Promise<unknown>>();

  /**
   * Run `fn` with `key` reserved, after any create of the same key in flight has settled; throws `error()` and runs
   * nothing when `exists()` (checked after the wait, in the same turn as the reservation).
   */
  async run<T>(key: string, exists: () => boolean, error: () => Error, fn: () => Promise<T>): Promise<T> {
    for (let w = this.#pending.get(key); w !== undefined; w = this.#pending.get(key)) await w;
    if (exists()) throw error();
    let settle = (): void => undefined;
    this.#pending.set(key, new Promise<void>((resolve) => (settle = resolve)));
    try {
      return await fn();
    } finally {
      this.#pending.delete(key);
      settle();
    }
  }
}
