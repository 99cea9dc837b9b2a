/**
 * The state journal (L3, pure): between two full snapshots (state.json), each
 * group of changes is one appended line naming the records it replaces or
 * removes, so a commit costs one small append and one fdatasync whatever the
 * number of sandboxes. A line carries its sequence number and the sha256 of
 * its operations: a torn last line (a crash mid-append) is recognised and
 * dropped; it was never acknowledged, and its objects were never made
 * (write-ahead: the kernel work waits for the append).
 */
import { createHash } from 'node:crypto';
import type { PersistedEndpoint, PersistedNetwork, PersistedSandbox, PersistedState } from './document.js';
import { checkState } from './check.js';

/** A record's key: its kind and id. */
export type RecordKey = `net:${string}` | `ep:${string}` | `sb:${string}`;

/** The record a key names, or null when the object is gone. */
export type JournalRecord = PersistedNetwork | PersistedEndpoint | PersistedSandbox;

/** One change: put (replace or add) or delete a record. */
export type JournalOp = { readonly key: RecordKey; readonly put: JournalRecord } | { readonly key: RecordKey; readonly del: true };

/** One decoded line. */
export interface JournalEntry {
  readonly seq: number;
  readonly ops: readonly JournalOp[];
}

/** Keys of the three kinds. */
export const netKey = (id: string): RecordKey => `net:${id}`;
export const epKey = (id: string): RecordKey => `ep:${id}`;
export const sbKey = (id: string): RecordKey => `sb:${id}`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The line of one commit. */
export function encodeEntry(seq: number, ops: readonly JournalOp[]): string {
  const body = JSON.stringify(ops);
  return `{"seq":${seq},"sha256":"${sha256(body)}","ops":${body}}\n`;
}

/** Every good line from the start; stops at the first torn or corrupt one (`torn` says whether one was found). */
export function decodeJournal(text: string): { entries: JournalEntry[]; torn: boolean } {
  const entries: JournalEntry[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    try {
      const doc = JSON.parse(line) as { seq?: unknown; sha256?: unknown; ops?: unknown };
      if (typeof doc.seq !== 'number' || !Array.isArray(doc.ops) || doc.sha256 !== sha256(JSON.stringify(doc.ops))) return { entries, torn: true };
      entries.push({ seq: doc.seq, ops: doc.ops as JournalOp[] });
    } catch {
      return { entries, torn: true };
    }
  }
  return { entries, torn: false };
}

const KINDS = { net: 'networks', ep: 'endpoints', sb: 'sandboxes' } as const;

/**
 * The snapshot with the journal's entries after `seq` applied, in order.
 * Entries at or below `seq` are older than the snapshot (a crash between the
 * snapshot and the journal's truncation) and skipped. A gap (the first newer
 * entry is not seq + 1: the snapshot is an older fallback) stops the replay;
 * `applied` says how many entries were used and `gap` whether one was found.
 * The result is checked as a whole (checkState), like a snapshot.
 */
export function replayJournal(state: PersistedState, seq: number, entries: readonly JournalEntry[]): { state: PersistedState; seq: number; applied: number; gap: boolean } {
  const maps = {
    networks: new Map(state.networks.map((r) => [netKey(r.id), r as JournalRecord])),
    endpoints: new Map(state.endpoints.map((r) => [epKey(r.id), r as JournalRecord])),
    sandboxes: new Map(state.sandboxes.map((r) => [sbKey(r.id), r as JournalRecord])),
  };
  let last = seq;
  let applied = 0;
  for (const e of entries) {
    if (e.seq <= last) continue;
    if (e.seq !== last + 1) return { ...result(), gap: true };
    for (const op of e.ops) {
      const kind = KINDS[op.key.slice(0, op.key.indexOf(':')) as keyof typeof KINDS];
      if (kind === undefined) continue;
      if ('put' in op) maps[kind].set(op.key, op.put);
      else maps[kind].delete(op.key);
    }
    last = e.seq;
    applied++;
  }
  return { ...result(), gap: false };

  function result(): { state: PersistedState; seq: number; applied: number } {
    const out = {
      networks: [...maps.networks.values()],
      endpoints: [...maps.endpoints.values()],
      sandboxes: [...maps.sandboxes.values()],
    };
    return { state: applied === 0 ? state : checkState(out), seq: last, applied };
  }
}
