/**
 * The controller's write-ahead bookkeeping (L3) in one place, so the model's
 * operations read as the model: `committed` logs and persists a finished
 * change; `around` saves an intent (an object in its 'creating' or
 * 'deleting' phase) before the kernel work runs and drops it when the work
 * settles, so a crash in between is undone at restore, never leaked.
 * Every wait for the disk throws ERR_STORE_WRITE_FAILED when the write
 * failed (L6): the caller undoes what it can, or reports the change as done
 * but unsaved. Without a state directory every method only logs or runs the
 * work.
 */
import type { Logger } from '../common/log.js';
import { isLeftBehind, leftBehind } from '../common/errors.js';
import { StateWriteError, type Intent, type RecordKey, type StateStore } from '../store/index.js';

/** Write-ahead persistence of one controller's changes (no-op without a store). */
export class Journal {
  readonly #store: StateStore | undefined;
  readonly #logger: Logger;

  /** Records kept so far (their keys' sequence). */
  #kept = 0;

  constructor(store: StateStore | undefined, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /** Throws ERR_STORE_DEGRADED while the state cannot be written (a mutation must not start: L6). */
  assertWritable(): void {
    this.#store?.assertWritable();
  }

  /** The store, if the controller persists (restore, close). */
  get store(): StateStore | undefined {
    return this.#store;
  }

  /**
   * Log a finished change and persist the records it touched (`keys`; none: the whole state); resolves once it is
   * on disk, so it is saved before it is acknowledged (L6). Concurrent changes share one commit (group commit).
   * Throws ERR_STORE_WRITE_FAILED.
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

  /**
   * Keep `intent` on disk from now on, never settled: a record whose undo failed (here, or in restore), written in
   * every state until the next start tries again (or a later operation on the same object replaces it). Written with the next group commit; a failed write is the store's
   * usual degraded mode.
   */
  keep(key: string, intent: Intent): void {
    const staged = this.#store?.aheadStaged(key.startsWith('kept:') ? key : `kept:${++this.#kept}:${key}`, intent);
    staged?.written.catch(() => undefined);
    staged?.durable.catch(() => undefined);
  }

  /** Persist a change that needs no log line (group commit; no key: the whole state). */
  changed(key?: RecordKey): void {
    this.#store?.changed(key);
  }

  /** Resolve once the record `key` (none: the whole model) as it is now is on disk (a claim before its plumbing). Throws ERR_STORE_WRITE_FAILED: do not plumb. */
  async flushed(key?: RecordKey): Promise<void> {
    if (key === undefined) await this.#store?.ahead();
    else await this.#store?.aheadOf(key);
  }

  /**
   * Run `work` with `intent` saved under `key` first, then `apply` its result
   * to the model; the intent is dropped only after `apply` (or a throw), so
   * no write ever sees the object neither in flight nor in the model.
   * With `overlap`, `work` starts once the intent is in the journal file (a
   * kill -9 from then on finds it) while its sync runs: `work` gets the sync
   * as `durable` and must await it before it makes anything that outlives a
   * reboot (a file on disk), so a machine crash never leaves such a thing
   * without its intent (L3, L6). Without `overlap` `durable` has resolved.
   */
  async around<T, R>(key: string, intent: Intent, work: (durable: Promise<void>) => Promise<T>, apply: (made: T) => R, overlap = false): Promise<R> {
    const unsaved = (err: unknown): never => {
      throw err instanceof StateWriteError ? err.withOutcome('nothing was changed (its write-ahead record could not be saved)') : err;
    };
    try {
      const staged = this.#store?.aheadStaged(key, intent);
      const durable = staged === undefined ? Promise.resolve() : staged.durable.catch(unsaved);
      durable.catch(() => undefined); // awaited by `work` (overlap) or right here; never an unhandled rejection meanwhile
      await (overlap ? staged?.written.catch(unsaved) : durable);
      return await apply(await work(durable));
    } catch (err) {
      // Its undo failed too: the record stays ('creating' or 'deleting'), and the next restore finishes the undo (L3).
      // Kept under a key of its own, so a retry of the same operation (the same key) cannot replace it.
      if (isLeftBehind(err)) {
        this.keep(`kept:${++this.#kept}:${key}`, intent);
        this.#logger.warn({ err, record: key }, 'an operation and its undo failed: its write-ahead record stays, and the next start finishes the undo');
      }
      throw err;
    } finally {
      this.#store?.settle(key);
    }
  }
}

/**
 * A create, connect or claim whose commit write failed (L6): `undo` takes the change back out of the model and the
 * kernel (its failure is logged: a restart undoes the same record again), then ERR_STORE_WRITE_FAILED says nothing
 * changed. Other errors pass unchanged.
 */
export async function unsavedUndone(logger: Logger, commit: Promise<void>, outcome: string, undo: () => Promise<void>): Promise<void> {
  try {
    await commit;
  } catch (err) {
    if (!(err instanceof StateWriteError)) throw err;
    let undone = true;
    await undo().catch((e: unknown) => {
      undone = false;
      logger.warn({ err: e }, `undo after a failed state write: ${outcome}, but the undo failed (a restart finishes it)`);
    });
    const out = err.withOutcome(`${outcome} (nothing changed)`);
    throw undone ? out : leftBehind(out);
  }
}

/** A delete or leave whose commit write failed (L6): it happened and stays; ERR_STORE_WRITE_FAILED says so. */
export async function unsavedDone(commit: Promise<void>, outcome: string): Promise<void> {
  try {
    await commit;
  } catch (err) {
    throw err instanceof StateWriteError ? err.withOutcome(outcome) : err;
  }
}
