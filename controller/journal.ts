/**
 * The controller's write-ahead bookkeeping (L3) in one place, so the model's
 * operations read as the model: `committed` logs and persists a finished
 * change; `around` saves an intent (an object in its 'creating' or
 * 'deleting' phase) before the kernel work runs and drops it when the work
 * settles, so a crash in between is undone at restore, never leaked.
 * Without a state directory every method only logs or runs the work.
 */
import type { Logger } from '../common/log.js';
import type { Intent, RecordKey, StateStore } from '../store/index.js';

/** Write-ahead persistence of one controller's changes (no-op without a store). */
export class Journal {
  readonly #store: StateStore | undefined;
  readonly #logger: Logger;

  constructor(store: StateStore | undefined, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /** The store, if the controller persists (restore, close). */
  get store(): StateStore | undefined {
    return this.#store;
  }

  /**
   * Log a finished change and persist the records it touched (`keys`; none: the whole state); resolves once it is
   * on disk, so it is saved before it is acknowledged (L6). Concurrent changes share one commit (group commit).
   */
  async committed(fields: Record<string, unknown>, msg: string, ...keys: RecordKey[]): Promise<void> {
    this.#logger.info(fields, msg);
    if (keys.length === 0) this.#store?.changed();
    for (const k of keys) this.#store?.changed(k);
    await this.#store?.flush();
  }

  /** Persist the whole model (a snapshot); resolves once it is on disk (coalesced with concurrent writes). */
  async persisted(): Promise<void> {
    this.#store?.changed();
    await this.#store?.flush();
  }

  /** Resolves once every change recorded so far is on disk; writes nothing when nothing changed. */
  async settled(): Promise<void> {
    await this.#store?.flush();
  }

  /** Persist a change that needs no log line (group commit; no key: the whole state). */
  changed(key?: RecordKey): void {
    this.#store?.changed(key);
  }

  /** Resolve once the record `key` (none: the whole model) as it is now is on disk (a claim before its plumbing). Never rejects. */
  async flushed(key?: RecordKey): Promise<void> {
    if (key === undefined) await this.#store?.ahead();
    else await this.#store?.aheadOf(key);
  }

  /**
   * Run `work` with `intent` saved under `key` first, then `apply` its result
   * to the model; the intent is dropped only after `apply` (or a throw), so
   * no write ever sees the object neither in flight nor in the model.
   */
  async around<T, R>(key: string, intent: Intent, work: () => Promise<T>, apply: (made: T) => R): Promise<R> {
    try {
      await this.#store?.ahead(key, intent);
      return await apply(await work());
    } finally {
      this.#store?.settle(key);
    }
  }
}
