/**
 * The controller's persistence (L3): keeps the embedded store in step with
 * the model. Group commit: every change made while a write is in flight
 * shares the next write and its one sync (never on the DNS path). A change
 * names the record it touched (journal.ts keys): the commit is then one
 * journal line holding just those records, so its cost does not grow with the
 * number of sandboxes; a change naming nothing, or a journal grown past
 * JOURNAL_MAX_BYTES, writes a full snapshot and empties the journal. Kernel
 * objects are written ahead: an object is in the store, in its phase, before
 * its namespace, bridge or veth exists, so a crash never leaks one. Restore
 * picks the newest good snapshot, replays the journal after it, says what it
 * recovered, and reconciles the kernel.
 */
import type { Logger } from '../common/log.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';
import { openStateFiles, STATE_FILE, type StateFiles } from './io/store.js';
import { chooseState, draftRecord, encodeState, endpointRecord, networkRecord, sandboxRecord, snapshotState, type SandboxDraft } from './persist.js';
import { decodeJournal, encodeEntry, netKey, replayJournal, sbKey, type JournalOp, type RecordKey } from './journal.js';
import { emptyReport, restoreState, type RestoreDeps, type RestoreReport } from './restore.js';
import { isLateKey, joinDeferred } from './keys.js';
import { StateNotRestorableError } from './state-errors.js';
import type { PersistedState } from './persist.js';

/** An object whose kernel side is being made or removed. */
export type InFlight = { readonly network: Network } | { readonly draft: SandboxDraft } | { readonly deleting: Sandbox };

/** The live model the keeper saves. */
export type ModelSource = () => { readonly networks: readonly Network[]; readonly sandboxes: readonly Sandbox[] };

/** Past this size the next commit is a snapshot, which empties the journal. */
export const JOURNAL_MAX_BYTES = 4 << 20;

/** The record key of an in-flight object. */
function inFlightKey(item: InFlight): RecordKey {
  if ('network' in item) return netKey(item.network.id);
  return sbKey('draft' in item ? item.draft.config.id : item.deleting.id);
}

/** Coalesced, write-ahead persistence of one controller. */
export class StateKeeper {
  readonly #files: StateFiles;
  readonly #logger: Logger;
  readonly #model: ModelSource;
  readonly #inFlight = new Map<string, InFlight>();
  #seq = 0;
  #restored = false;
  /** A snapshot is due (a change named no record, or the journal is full). */
  #dirty = false;
  /** Records changed since the last commit. */
  readonly #keys = new Set<RecordKey>();
  #journalBytes = 0;
  #scheduled = false;
  #writing: Promise<void> | undefined;
  #failing = false;

  constructor(dir: string, logger: Logger, model: ModelSource, files: StateFiles = openStateFiles(dir)) {
    this.#files = files;
    this.#logger = logger.child({ stateDir: dir });
    this.#model = model;
  }

  /**
   * The model changed: commit on the next tick. `key` names the one record that
   * changed (a journal line); without it the whole state is written. Before
   * restore() nothing is written (the old state is kept).
   */
  changed(key?: RecordKey): void {
    if (key === undefined || this.#files.appendJournal === undefined) this.#dirty = true;
    else this.#keys.add(key);
    if (this.#scheduled || !this.#restored) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  /** Write-ahead: `item` (if any) is saved in flight, and the state is on disk, before this resolves. Never rejects. */
  async ahead(key?: string, item?: InFlight): Promise<void> {
    if (key !== undefined && item !== undefined) this.#inFlight.set(key, item);
    this.changed(item === undefined ? undefined : inFlightKey(item));
    await this.flush();
  }

  /** Write-ahead of a change to the record `key` (a join's phase): on disk before this resolves. Never rejects. */
  async aheadOf(key: RecordKey): Promise<void> {
    this.changed(key);
    await this.flush();
  }

  /** The in-flight object `key` has settled (made, removed, or failed): the next write describes the model alone. */
  settle(key: string): void {
    const item = this.#inFlight.get(key);
    if (item !== undefined && this.#inFlight.delete(key)) this.changed(inFlightKey(item));
  }

  /** Wait until every change so far is on disk (or its write failed, which is logged). */
  async flush(): Promise<void> {
    await this.#writing;
    if (this.#pending() && this.#restored) await this.#pump();
  }

  #pending(): boolean {
    return this.#dirty || this.#keys.size > 0;
  }

  /** The current record of `key` (in flight first), or undefined when the object is gone. */
  #recordOf(key: RecordKey): JournalOp {
    const id = key.slice(key.indexOf(':') + 1);
    const item = [...this.#inFlight.values()].find((i) => inFlightKey(i) === key);
    if (item !== undefined) {
      if ('network' in item) return { key, put: networkRecord(item.network, 'creating') };
      return { key, put: 'draft' in item ? draftRecord(item.draft) : sandboxRecord(item.deleting, 'deleting') };
    }
    const m = this.#model();
    if (key.startsWith('net:')) {
      const n = m.networks.find((x) => x.id === id);
      return n === undefined ? { key, del: true } : { key, put: networkRecord(n, 'live') };
    }
    if (key.startsWith('ep:')) {
      const ep = m.networks.map((n) => n.endpoints.get(id)).find((e) => e !== undefined);
      return ep === undefined ? { key, del: true } : { key, put: endpointRecord(ep) };
    }
    const sb = m.sandboxes.find((x) => x.id === id);
    return sb === undefined ? { key, del: true } : { key, put: sandboxRecord(sb, 'live') };
  }

  /** One commit: a journal line of the changed records, or a snapshot. */
  async #commitOnce(): Promise<void> {
    const files = this.#files;
    if (this.#dirty || files.appendJournal === undefined || this.#journalBytes > JOURNAL_MAX_BYTES) {
      this.#dirty = false;
      this.#keys.clear();
      await files.write(this.#render());
      await files.resetJournal?.();
      this.#journalBytes = 0;
      return;
    }
    const ops = [...this.#keys].map((k) => this.#recordOf(k));
    this.#keys.clear();
    const line = encodeEntry(++this.#seq, ops);
    this.#journalBytes += line.length;
    await files.appendJournal(line);
  }

  #render(): string {
    const m = this.#model();
    const items = [...this.#inFlight.values()];
    const state = snapshotState({
      networks: m.networks, sandboxes: m.sandboxes,
      creatingNetworks: items.flatMap((i) => ('network' in i ? [i.network] : [])),
      creatingSandboxes: items.flatMap((i) => ('draft' in i ? [i.draft] : [])),
      deletingSandboxes: items.flatMap((i) => ('deleting' in i ? [i.deleting] : [])),
    });
    return encodeState(state, ++this.#seq, new Date());
  }

  #pump(): Promise<void> {
    this.#writing ??= (async () => {
      try {
        while (this.#pending()) {
          await this.#commitOnce();
          if (this.#failing) this.#logger.info('state written again');
          this.#failing = false;
        }
      } catch (err) {
        this.#dirty = true; // retried on the next change or flush
        if (!this.#failing) this.#logger.error({ err }, 'cannot write the state: changes are not persisted until a write succeeds');
        this.#failing = true;
      } finally {
        this.#writing = undefined;
      }
    })();
    return this.#writing;
  }

  /** Write what is pending and give the directory back. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#restored) await this.#files.unlock();
  }

  /** Load the newest good state, rebuild the model through `deps`, reconcile the kernel, save the result. Once, before any change. */
  async restore(deps: RestoreDeps): Promise<RestoreReport> {
    if (this.#restored) throw new StateNotRestorableError('restore() ran already');
    const before = this.#model();
    if (before.networks.length + before.sandboxes.length > 0) throw new StateNotRestorableError('the controller has networks or sandboxes already');
    await this.#files.lock();
    const { chosen, rejected } = chooseState(await this.#files.readAll());
    for (const bad of rejected) {
      const aside = bad.name === STATE_FILE || chosen === undefined ? await this.#files.quarantine(bad.name) : undefined;
      this.#logger.warn({ file: bad.name, code: bad.code, reason: bad.reason, ...(aside ? { movedTo: aside } : {}) }, `ignoring ${bad.name}: ${bad.reason}`);
    }
    this.#seq = chosen?.seq ?? 0;
    const replayed = chosen === undefined ? undefined : await this.#replay(chosen.state, chosen.seq);
    const report = replayed === undefined ? emptyReport() : await restoreState(deps, replayed);
    for (const sb of this.#model().sandboxes) {
      if (isLateKey(sb) && sb.netnsPath !== '') await joinDeferred(sb).catch((err: unknown) => report.problems.push(`join of ${sb.id}: ${String(err)}`));
    }
    this.#restored = true;
    await this.ahead(); // a snapshot of the restored model: it empties the journal
    this.#report(chosen, rejected.length, report);
    return report;
  }

  /** The snapshot with the journal's newer entries applied (a torn last line or a gap is logged and left out). */
  async #replay(state: PersistedState, seq: number): Promise<PersistedState> {
    const { entries, torn } = decodeJournal((await this.#files.readJournal?.()) ?? '');
    const r = replayJournal(state, seq, entries);
    if (torn) this.#logger.warn({ applied: r.applied }, 'state journal: a torn or corrupt line was left out (an unfinished commit)');
    if (r.gap) this.#logger.warn({ snapshotSeq: seq, applied: r.applied }, 'state journal does not follow the snapshot used: its newer lines were left out');
    this.#seq = r.seq;
    return r.state;
  }

  #report(chosen: { name: string; seq: number; savedAt: string } | undefined, rejected: number, r: RestoreReport): void {
    const from = chosen === undefined ? { source: 'none' } : { source: chosen.name, seq: chosen.seq, savedAt: chosen.savedAt };
    const fields = { ...from, ...r };
    if (chosen === undefined && rejected > 0) this.#logger.error(fields, 'no usable state file: starting empty (the bad files were moved aside)');
    else if (chosen !== undefined && chosen.name !== STATE_FILE) this.#logger.warn(fields, `state recovered from ${chosen.name} (seq ${chosen.seq}): the newest write was incomplete or corrupt`);
    else this.#logger.info(fields, chosen === undefined ? 'no saved state: starting empty' : `state restored from ${chosen.name} (seq ${chosen.seq})`);
    if (r.problems.length > 0) this.#logger.warn({ problems: r.problems }, 'some saved objects could not be restored');
  }
}
