/**
 * What a reboot ends (L6), for the store's choice of which journal lines to sync (keeper.ts, module comment): a
 * line holding only such records is written without fdatasync; one holding any record that outlives a reboot is
 * synced. A line written without a sync may be lost, from the tail only (a later synced line syncs every line before
 * it), so after a power loss each key holds the record of its last synced line or of any later line.
 */
import type { PersistedEndpoint, PersistedSandbox, PersistedState } from './document.js';
import { epKey, netKey, sbKey, type JournalOp, type JournalRecord, type RecordKey } from './journal.js';

/** The sandbox record of an id (the live model's, or a snapshot's), undefined when unknown. */
export type SandboxOf = (id: string) => PersistedSandbox | undefined;

/**
 * An endpoint record that a reboot ends: joined (or joining) a sandbox that has a namespace, or one that exists only
 * while joined. Not a claim waiting for a late sandbox's key ('deferred'), nor a join of a late sandbox (restore turns
 * it back into a claim for the next key): the sandbox outlives a reboot, and so do they. A join of a sandbox whose
 * record is unknown is taken to outlive it (synced).
 */
function isJoinScoped(ep: PersistedEndpoint, sandboxOf: SandboxOf): boolean {
  if (ep.join === undefined) return ep.joinedOnly === true;
  if (ep.join.phase === 'deferred') return false;
  const sb = sandboxOf(ep.join.sandbox);
  return sb !== undefined && sb.key.kind !== 'late';
}

/** A sandbox record that a reboot ends: past its 'creating' intent, with a namespace of its own or adopted (not 'late'). */
function isSandboxScoped(sb: PersistedSandbox): boolean {
  return sb.phase !== 'creating' && sb.key.kind !== 'late';
}

/** Whether the record `key` names is one a reboot ends (true) or one that outlives it (false: a network, say). */
export function recordScoped(key: RecordKey, record: JournalRecord, sandboxOf: SandboxOf): boolean {
  if (key.startsWith('sb:')) return isSandboxScoped(record as PersistedSandbox);
  if (key.startsWith('ep:')) return isJoinScoped(record as PersistedEndpoint, sandboxOf);
  return false;
}

/**
 * Whether the record, found on disk after a power loss instead of the later lines about its key (a removal too),
 * leaves a restart where those lines would have: a record a reboot ends (restore drops it with its namespace), or a
 * sandbox's 'creating' intent (restore undoes the create: the files go, as a delete would have them go).
 */
function harmlessIfBack(key: RecordKey, record: JournalRecord, sandboxOf: SandboxOf): boolean {
  if (key.startsWith('sb:') && (record as PersistedSandbox).phase === 'creating') return true;
  return recordScoped(key, record, sandboxOf);
}

/**
 * Per key, whether every record of it that may be on disk after a power loss is harmless if it comes back instead
 * of the later lines (harmlessIfBack): then losing a later line about it (its removal included) changes nothing a
 * restart would keep, and that line needs no sync.
 * A key not tracked has nothing on disk (never written since the last snapshot, and not in it).
 */
export class DiskScope {
  #onDisk = new Map<RecordKey, boolean>();

  /** A snapshot was written: it holds exactly these records, synced. */
  snapshot(state: PersistedState): void {
    const sandboxes = new Map(state.sandboxes.map((s) => [s.id, s]));
    const sandboxOf: SandboxOf = (id) => sandboxes.get(id);
    const records: [RecordKey, JournalRecord][] = [
      ...state.networks.map((r): [RecordKey, JournalRecord] => [netKey(r.id), r]),
      ...state.endpoints.map((r): [RecordKey, JournalRecord] => [epKey(r.id), r]),
      ...state.sandboxes.map((r): [RecordKey, JournalRecord] => [sbKey(r.id), r]),
    ];
    this.#onDisk = new Map(records.map(([k, r]) => [k, harmlessIfBack(k, r, sandboxOf)]));
  }

  /**
   * Whether a line of `ops` may be written without a sync (every op is about what a reboot ends, and no removal can
   * bring back, when lost, a record that outlives it); then notes what the line leaves on disk.
   */
  line(ops: readonly JournalOp[], sandboxOf: SandboxOf): boolean {
    const scoped = ops.map((op) => ('del' in op ? this.#onDisk.get(op.key) ?? true : recordScoped(op.key, op.put, sandboxOf)));
    const unsynced = !scoped.includes(false);
    ops.forEach((op, i) => {
      if (!unsynced) {
        // Synced: this line's record is what is on disk now (a removal: nothing).
        if ('del' in op) this.#onDisk.delete(op.key);
        else this.#onDisk.set(op.key, harmlessIfBack(op.key, op.put, sandboxOf));
      } else if (!('del' in op)) {
        // Not synced: the earlier record may be what stays; this one a reboot ends, so the earlier one decides.
        this.#onDisk.set(op.key, (this.#onDisk.get(op.key) ?? true) && scoped[i]!);
      }
    });
    return unsynced;
  }
}
