/**
 * AsyncLock: runs async tasks one after another (FIFO). The controller uses
 * one for allocation (L5: subnet choice, bridge names and the network
 * topology change as one step, so concurrent requests end in a state some
 * serial order gives). Everything else stays lock-free (G11).
 */

/** A FIFO mutex for async tasks. */
export class AsyncLock {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `task` after every task queued before it has settled; its result or error is passed through. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

/** Run `fn` over `items`, at most `limit` at a time (in order of start); rejects with the first failure. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
