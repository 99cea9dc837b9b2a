/**
 * The persistent store of one controller (L3): keeps the embedded state files
 * in step with the model. Group commit: every change made while a commit is
 * in flight shares the next one and its single sync (never on the DNS path).
 * A change that names the record it touched (journal.ts keys) commits as one
 * journal line holding just the named records, so a commit's cost does not
 * grow with the number of sandboxes; a change naming nothing, or a journal
 * past JOURNAL_MAX_BYTES, writes a whole snapshot and rotates the journal. Kernel objects are
 * written ahead: an object is in the store, in its phase, before its
 * namespace, bridge or veth exists (an "intent"), so a crash never leaks one.
 * Restore picks the newest good file, hands it to the caller to rebuild the
 * model, and logs what it recovered.
 *
 * The store knows only the persisted records (document.ts); the controller
 * maps its model to them through the `snapshot` callback.
 *
 * What is synced: snapshots, and every journal line that holds a record which
 * outlives a reboot (a network; an endpoint created on its own) or a
 * sandbox's 'creating' intent (written before its namespace and files exist:
 * after any crash it is what lets restore remove the files and directories
 * the create made, which a reboot does not). A line that holds only
 * machine-scoped records — a live or deleting sandbox with a namespace (not
 * one waiting for late keys: it outlives a reboot, as do the claims waiting
 * for its key), an endpoint while it is joined or one that exists only while
 * joined (the API's connect) — is
 * written without fdatasync: the daemon's death (kill -9) leaves it in the
 * page cache, and a machine crash ends the namespaces and veths it describes;
 * restore then finds the older record, with its namespace gone, and drops it
 * the same way. A later synced line syncs every line before it, so an
 * unsynced line can only ever be lost from the tail, where replay stops
 * anyway.
 */
import type { Logger } from '../common/log.js';
import { openStateFiles, type StateFiles } from './io/files.js';
import { encodeState, settleRecords, type PersistedNetwork, type PersistedSandbox, type PersistedState } from './document.js';
import { encodeEntry, netKey, sbKey, type JournalOp, type JournalRecord, type RecordKey } from './journal.js';
import { StateNotRestorableError, StateWriteError, StoreDegradedError } from './errors.js';
import { DiskScope } from './scope.js';
import { loadSaved, replayLogged, reportRestore, type SavedState } from './load.js';
import { Progress } from './progress.js';

/** How often a failed state write is tried again (ms). */
export const RETRY_MS = 1_000;

/**
 * A write-ahead intent: a network or sandbox being created or deleted, saved
 * with its phase ('creating' / 'deleting') until settled.
 */
export type Intent = { readonly network: PersistedNetwork } | { readonly sandbox: PersistedSandbox };

/** The live model, as persisted records (intents are added by the store). */
export type Snapshot = () => PersistedState;

/** The live record a key names, or undefined when the object is gone (no intents: the store adds those). */
export type RecordOf = (key: RecordKey) => JournalRecord | undefined;

/** Past this size the next commit is a snapshot, which rotates the journal. */
export const JOURNAL_MAX_BYTES = 4 << 20;

/** The record key of an intent. */
function intentKey(intent: Intent): RecordKey {
  return 'network' in intent ? netKey(intent.network.id) : sbKey(intent.sandbox.id);
}

/** What a restore rebuilt; `problems` are logged as a warning. */
export interface RestoreOutcome {
  readonly problems: readonly string[];
}

/**
 * Rebuilds the model from the restored state (undefined: nothing usable was saved). `rebooted`: the newest state
 * file was written in another boot, so no namespace or link it names can still be the one sandns made.
 */
export type Rebuild<R extends RestoreOutcome> = (state: PersistedState | undefined, context: { rebooted: boolean }) => Promise<R>;

/** Coalesced, write-ahead persistence of one controller's model. */
export class StateStore {
  readonly #files: StateFiles;
  readonly #logger: Logger;
  readonly #snapshot: Snapshot;
  readonly #intents = new Map<string, Intent>();
  readonly #record: RecordOf | undefined;
  #seq = 0;
  #restored = false;
  /** A snapshot is due (a change named no record, or the journal is full). */
  #dirty = false;
  /** Records changed since the last commit. */
  readonly #keys = new Set<RecordKey>();
  /** What each key may hold on disk after a power loss: which lines need no sync (scope.ts). */
  readonly #disk = new DiskScope();
  /**
   * Keys of open 'creating' intents whose live record (the create's result, committed before the intent settles) is
   * the journal's last line for them: settling such an intent has nothing new to write.
   */
  readonly #liveJournalled = new Set<RecordKey>();
  #journalBytes = 0;
  #scheduled = false;
  #writing: Promise<void> | undefined;
  /** Changes so far (each changed() counts one). */
  #changes = 0;
  /** How many of them the last good write covered (synced), and the callers of flush() waiting for theirs. */
  readonly #durable = new Progress();
  /** How many of them the last line in the file covers (written, perhaps not yet synced), and who waits for that. */
  readonly #written = new Progress();
  /** Why the last write failed; undefined once a write succeeds (L6: the daemon is degraded meanwhile). */
  #failure: unknown;
  #retry: NodeJS.Timeout | undefined;
  readonly #dir: string;

  /**
   * A store over `dir` (created 0700 when missing); `files` replaces the real
   * files in tests. With `record`, changes that name their record are journal
   * lines; without it every commit is a snapshot.
   */
  constructor(dir: string, logger: Logger, snapshot: Snapshot, files: StateFiles = openStateFiles(dir), record?: RecordOf) {
    this.#files = files;
    this.#dir = dir;
    this.#record = record;
    this.#logger = logger.child({ stateDir: dir });
    this.#snapshot = snapshot;
  }

  /**
   * The model changed: commit on the next tick. `key` names the one record that
   * changed (a journal line); without it the whole state is written. Before
   * restore() nothing is written (the old state is kept).
   */
  changed(key?: RecordKey): void {
    if (key === undefined || !this.#journaling()) this.#dirty = true;
    else this.#keys.add(key);
    this.#changes++;
    if (this.#scheduled || !this.#restored) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  /**
   * Write-ahead: `intent` (if any) is saved under `key`, and the state is on disk, before this resolves. Throws
   * ERR_STORE_WRITE_FAILED when that write fails: the caller must not start the work (the intent stays until settled).
   */
  async ahead(key?: string, intent?: Intent): Promise<void> {
    if (key !== undefined && intent !== undefined) this.#stage(key, intent);
    this.changed(intent === undefined ? undefined : intentKey(intent));
    await this.flush();
  }

  /**
   * Write-ahead in two stages (L3, L6): `written` resolves once the line holding `intent` is in the file (the page
   * cache: a daemon restarted after a kill -9 reads it), `durable` once it is synced too (a machine crash keeps it).
   * Between the two a create may change what a reboot ends anyway (a namespace); whatever outlives a reboot (a file
   * on disk) must wait for `durable`. Both reject with ERR_STORE_WRITE_FAILED when their write fails; `written` also
   * when the line could not be written at all (then nothing may be changed). Before restore() both resolve at once.
   */
  aheadStaged(key: string, intent: Intent): { written: Promise<void>; durable: Promise<void> } {
    this.#stage(key, intent);
    this.changed(intentKey(intent));
    const want = this.#changes;
    const durable = this.flush();
    if (!this.#restored) return { written: Promise.resolve(), durable };
    const written = this.#written.until(want);
    written.catch(() => undefined); // a caller that waits for `durable` alone never sees this rejection as unhandled
    // A flush that ends without writing (a failure before the line) settles `written` too; after the line it changes nothing.
    durable.then(() => this.#written.reach(this.#durable.level), (err: unknown) => this.#written.fail(err));
    return { written, durable };
  }

  /** Write-ahead of a change to one record (a join's phase): on disk before this resolves. Throws ERR_STORE_WRITE_FAILED (do not plumb). */
  async aheadOf(key: RecordKey): Promise<void> {
    this.changed(key);
    await this.flush();
  }

  /** Open `intent` under `key`; an older one for the same record (a kept one, its object made again) gives way. */
  #stage(key: string, intent: Intent): void {
    const record = intentKey(intent);
    for (const [k, i] of this.#intents) if (k !== key && intentKey(i) === record) this.#intents.delete(k);
    this.#intents.set(key, intent);
  }

  /** The intent `key` has settled (made, removed, or failed): the next write describes the model alone. */
  settle(key: string): void {
    const intent = this.#intents.get(key);
    if (intent === undefined || !this.#intents.delete(key)) return;
    // The record the next line would hold is already the journal's last one for this key (a create's commit).
    if (this.#liveJournalled.delete(intentKey(intent))) return;
    this.changed(intentKey(intent));
  }

  /**
   * Wait until every change so far is on disk: resolves once the commit covering the last of them is durable (not
   * when every later commit is, under a steady stream of changes). Throws ERR_STORE_WRITE_FAILED when the write that
   * had to cover them failed (the failure is logged once, and retried every RETRY_MS until a write succeeds). Before
   * restore() nothing is written and this resolves at once.
   */
  flush(): Promise<void> {
    const want = this.#changes;
    if (!this.#restored || this.#durable.level >= want) return Promise.resolve();
    const durable = this.#durable.until(want);
    // A commit in progress may already have taken these changes (it clears the pending keys when it starts): the
    // waiter is settled by the commit that covers them, this one or one the pump loop starts after it. The pump
    // starts a microtask later, so the changes of callers running in the same turn share its line (group commit).
    queueMicrotask(() => void this.#pump());
    return durable;
  }

  /** Why the state cannot be written now (the last write failed and none succeeded since), else undefined (L6). */
  get failure(): unknown {
    return this.#failure;
  }

  /** Throws ERR_STORE_DEGRADED while the last write failed: a mutation must not start (L6). */
  assertWritable(): void {
    if (this.#failure !== undefined) throw new StoreDegradedError(this.#dir, this.#failure);
  }

  #journaling(): boolean {
    return this.#record !== undefined && this.#files.appendJournal !== undefined;
  }

  #pending(): boolean {
    return this.#dirty || this.#keys.size > 0;
  }

  /**
   * The current record of `key`, as a journal operation: an open intent, except that a create whose result is in the
   * model is written live (one record per object: the later stage wins, document.ts onePerObject).
   */
  #opOf(key: RecordKey): JournalOp {
    const intent = [...this.#intents.values()].find((i) => intentKey(i) === key);
    const live = this.#record?.(key);
    const wanted = intent === undefined ? undefined : 'network' in intent ? intent.network : intent.sandbox;
    const put = wanted === undefined || (wanted.phase === 'creating' && live !== undefined) ? live : wanted;
    return put === undefined ? { key, del: true } : { key, put };
  }

  /**
   * One commit: a journal line of the changed records, or a snapshot. `written`: the line (or snapshot) is in its
   * file; `durable`: it is synced (a snapshot is, before the journal's rotation, whose failure then fails the commit
   * but not the changes the snapshot already holds).
   */
  async #commitOnce(written: () => void, durable: () => void): Promise<void> {
    const files = this.#files;
    if (this.#dirty || !this.#journaling() || this.#journalBytes > JOURNAL_MAX_BYTES) {
      this.#dirty = false;
      this.#keys.clear();
      this.#liveJournalled.clear(); // the snapshot may hold an intent: its settle writes a line again
      const { text, state } = this.#render();
      await files.write(text);
      this.#disk.snapshot(state);
      written();
      if (files.appendJournal !== undefined && files.rotateJournal !== undefined) {
        try {
          // An empty line with the snapshot's seq keeps the chain state.json.prev → journal.prev → journal contiguous.
          await files.appendJournal(encodeEntry(this.#seq, []));
          await files.rotateJournal();
        } catch (err) {
          durable(); // the snapshot holds the changes: their callers succeed; the commit fails (the next is a snapshot)
          throw err;
        }
      }
      durable();
      this.#journalBytes = 0;
      return;
    }
    const ops = [...this.#keys].map((k) => this.#opOf(k));
    this.#keys.clear();
    const line = encodeEntry(++this.#seq, ops);
    this.#journalBytes += line.length;
    const sync = !this.#disk.line(ops, (id) => this.#record?.(sbKey(id)) as PersistedSandbox | undefined);
    const liveOverIntent = ops.map((op) => this.#liveOverIntent(op));
    await files.appendJournal!(line, sync, written);
    durable();
    ops.forEach((op, i) => (liveOverIntent[i] ? this.#liveJournalled.add(op.key) : this.#liveJournalled.delete(op.key)));
  }

  /** Whether `op` writes an object's live record while its 'creating' intent is still open (#opOf). */
  #liveOverIntent(op: JournalOp): boolean {
    if (!('put' in op)) return false;
    const intent = [...this.#intents.values()].find((i) => intentKey(i) === op.key);
    const record = intent === undefined ? undefined : 'network' in intent ? intent.network : intent.sandbox;
    return record !== undefined && record.phase === 'creating' && op.put !== record;
  }

  #render(): { text: string; state: PersistedState } {
    const m = this.#snapshot();
    const intents = [...this.#intents.values()];
    const networks = intents.flatMap((i) => ('network' in i ? [i.network] : []));
    const sandboxes = intents.flatMap((i) => ('sandbox' in i ? [i.sandbox] : []));
    // One record per object: a create whose result is in the model is live, a delete that began is 'deleting'.
    const state = settleRecords({
      networks: [...m.networks, ...networks],
      endpoints: m.endpoints,
      sandboxes: [...m.sandboxes, ...sandboxes.filter((s) => s.phase === 'creating'), ...sandboxes.filter((s) => s.phase !== 'creating')],
    });
    return { text: encodeState(state, ++this.#seq, new Date(), this.#files.bootId?.()), state };
  }

  #pump(): Promise<void> {
    if (this.#writing !== undefined) return this.#writing;
    // Nothing to write: no loop. (Were the loop below started with nothing pending, it would finish synchronously,
    // its `finally` clearing #writing before the assignment below set it to a settled promise for good; every later
    // pump would then return that promise and write nothing, and flush() would report changes durable that never
    // reached the disk.)
    if (!this.#pending()) return Promise.resolve();
    let covered = 0;
    const writing = (async () => {
      try {
        while (this.#pending()) {
          covered = this.#changes;
          await this.#commitOnce(() => this.#written.reach(covered), () => this.#durable.reach(covered));
          if (this.#failure !== undefined) this.#logger.info('state written again: changes are accepted again');
          this.#failure = undefined;
        }
      } catch (err) {
        this.#dirty = true; // retried by the timer, the next change or flush
        if (this.#failure === undefined) this.#logger.error({ err }, 'cannot write the state: mutations are refused until a write succeeds');
        this.#failure = err;
        this.#durable.fail(new StateWriteError(this.#dir, err), covered); // the callers this commit was to cover
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          if (this.#failure !== undefined) void this.#pump();
        }, RETRY_MS).unref();
      } finally {
        this.#writing = undefined;
      }
      // Changes made while the failed commit ran were not part of it: their waiters get a commit of their own now
      // (as a flush after a failure does), and fail only if it fails too.
      if (this.#durable.waiting > 0) void this.#pump();
    })();
    this.#writing = writing;
    return writing;
  }

  /** Write what is pending (a failure is logged: the next start restores the last good state) and give the directory back. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.#writing; // a commit whose changes are durable may still be rotating the journal
    clearTimeout(this.#retry);
    this.#retry = undefined;
    if (this.#restored) await this.#files.unlock();
  }

  /**
   * Lock the directory, load the newest good state and pass it to `rebuild`
   * (undefined when nothing usable was saved), then save the rebuilt model.
   * Bad files are moved aside and logged. Once, before any change: throws
   * ERR_STORE_NOT_RESTORED otherwise, ERR_STORE_LOCKED when another process
   * holds the directory, ERR_STORE_VERSION for a newer schema.
   */
  async restore<R extends RestoreOutcome>(rebuild: Rebuild<R>): Promise<R> {
    if (this.#restored) throw new StateNotRestorableError('restore() ran already');
    const before = this.#snapshot();
    if (before.networks.length + before.sandboxes.length > 0) throw new StateNotRestorableError('the controller has networks or sandboxes already');
    // A killed predecessor's commands may still change links: the lock waits them out, so restore sees their result.
    const previous = await this.#files.lock();
    if (previous !== undefined && previous.running.length > 0) {
      this.#logger.warn({ pids: previous.running, killed: previous.killed }, 'commands of the killed daemon still run after 10 s: restoring anyway');
    }
    // A start that fails here gives the directory back: its lock must not outlive it.
    const { chosen, rejected, report } = await this.#load(rebuild).catch(async (err: unknown) => {
      await this.#files.unlock().catch(() => undefined);
      throw err;
    });
    this.#restored = true;
    // A snapshot of the rebuilt model (it rotates the journal). On a full or read-only disk the daemon still serves
    // what it restored, degraded (L6), and retries.
    await this.ahead().catch(() => undefined);
    reportRestore(this.#logger, chosen, rejected, report);
    return report;
  }

  /** Read the newest good state and the journals, and rebuild the model from them (restore, under the lock). */
  async #load<R extends RestoreOutcome>(rebuild: Rebuild<R>): Promise<{ chosen: SavedState['chosen']; rejected: number; report: R }> {
    const saved = await loadSaved(this.#files, this.#logger);
    const { chosen } = saved;
    this.#seq = chosen?.seq ?? 0;
    let state: PersistedState | undefined;
    if (chosen !== undefined) {
      // A file written by an earlier version can hold an intent beside the live record of the same object.
      const r = replayLogged(this.#logger, settleRecords(chosen.state), chosen.seq, saved.entries);
      this.#seq = r.seq;
      state = r.state;
    }
    const report = await rebuild(state, { rebooted: saved.rebooted });
    // The next snapshot's seq is above every line either journal file holds, used or not (a gap, no usable state):
    // the next start then skips them all instead of replaying stale lines on top of it.
    this.#seq = Math.max(this.#seq, ...saved.entries.map((e) => e.seq));
    return { chosen, rejected: saved.rejected, report };
  }
}
