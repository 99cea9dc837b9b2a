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
import { checkRecord } from './check.js';

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

/** What precedes a line's ops (encodeEntry). */
const OPS_FIELD = '","ops":';

/**
 * Every good line from the start; stops at the first torn or corrupt one (`torn` says whether one was found).
 * `goodBytes`: the length in bytes of the good lines (where a torn tail begins).
 */
export function decodeJournal(text: string): { entries: JournalEntry[]; torn: boolean; goodBytes: number } {
  const entries: JournalEntry[] = [];
  const lines = text.split('\n');
  // The last piece has no newline after it: '' when the text ends a line, else a line whose write was cut (its
  // newline is the last byte written), torn even when it parses.
  const unterminated = lines.pop()!;
  let goodBytes = 0;
  for (const line of lines) {
    try {
      // The digest covers the ops exactly as encodeEntry wrote them: hashed as they stand, not encoded again.
      const at = line.indexOf(OPS_FIELD);
      const body = at < 0 || !line.endsWith('}') ? '' : line.slice(at + OPS_FIELD.length, -1);
      const doc = JSON.parse(line) as { seq?: unknown; sha256?: unknown; ops?: unknown };
      if (!Number.isSafeInteger(doc.seq) || !Array.isArray(doc.ops) || doc.sha256 !== sha256(body)) return { entries, torn: true, goodBytes };
      entries.push({ seq: doc.seq as number, ops: doc.ops as JournalOp[] });
      goodBytes += Buffer.byteLength(line) + 1;
    } catch {
      return { entries, torn: true, goodBytes };
    }
  }
  return { entries, torn: unterminated !== '', goodBytes };
}

const KINDS = { net: 'networks', ep: 'endpoints', sb: 'sandboxes' } as const;

/**
 * Why `op` (from a line whose digest held) cannot be applied, or undefined when it can: a key of a known kind
 * (`net:`, `ep:`, `sb:` and an id), exactly one of `put` and `del: true`, and a put that passes its kind's field
 * check (check.ts) with the key's id. A digest is no proof of meaning: a hand edit, or a bug that stored a value the
 * state's own check refuses, must not end every later start.
 */
function opProblem(op: unknown): string | undefined {
  if (typeof op !== 'object' || op === null || Array.isArray(op)) return 'an operation is not an object';
  const { key, put, del } = op as { key?: unknown; put?: unknown; del?: unknown };
  const colon = typeof key === 'string' ? key.indexOf(':') : -1;
  const kind = colon > 0 ? (key as string).slice(0, colon) : '';
  if (!Object.hasOwn(KINDS, kind) || colon === (key as string).length - 1) return `key ${JSON.stringify(key)?.slice(0, 80)} names no record`;
  if ((put === undefined) === (del === undefined) || (del !== undefined && del !== true)) return `${key as string}: neither one put nor one delete`;
  if (put === undefined) return undefined;
  try {
    checkRecord(KINDS[kind as keyof typeof KINDS], put, key as string);
  } catch (err) {
    return (err as Error).message;
  }
  if ((put as { id: string }).id !== (key as string).slice(colon + 1)) return `${key as string}: the record's id is another`;
  return undefined;
}

/**
 * The snapshot with the journal's entries after `seq` applied, in order.
 * Entries at or below `seq` are older than the snapshot (a crash between the
 * snapshot and the journal's truncation) and skipped. A gap (the first newer
 * entry is not seq + 1: the snapshot is an older fallback) stops the replay;
 * `applied` says how many entries were used and `gap` whether one was found.
 * An operation that does not pass its check (opProblem) is left out, its
 * record kept as the earlier lines left it, and named in `dropped`; the rest
 * of its line and the later lines still apply.
 */
export function replayJournal(state: PersistedState, seq: number, entries: readonly JournalEntry[]): { state: PersistedState; seq: number; applied: number; gap: boolean; dropped: string[] } {
  const maps = {
    networks: new Map(state.networks.map((r) => [netKey(r.id), r as JournalRecord])),
    endpoints: new Map(state.endpoints.map((r) => [epKey(r.id), r as JournalRecord])),
    sandboxes: new Map(state.sandboxes.map((r) => [sbKey(r.id), r as JournalRecord])),
  };
  let last = seq;
  let applied = 0;
  const dropped: string[] = [];
  for (const e of entries) {
    if (e.seq <= last) continue;
    if (e.seq !== last + 1) return { ...result(), gap: true };
    for (const op of e.ops) {
      const problem = opProblem(op);
      if (problem !== undefined) {
        dropped.push(`line ${e.seq}: ${problem}`);
        continue;
      }
      const kind = KINDS[op.key.slice(0, op.key.indexOf(':')) as keyof typeof KINDS];
      if ('put' in op) maps[kind].set(op.key, op.put);
      else maps[kind].delete(op.key);
    }
    last = e.seq;
    applied++;
  }
  return { ...result(), gap: false };

  function result(): { state: PersistedState; seq: number; applied: number; dropped: string[] } {
    const out = {
      networks: [...maps.networks.values()] as PersistedNetwork[],
      endpoints: [...maps.endpoints.values()] as PersistedEndpoint[],
      sandboxes: [...maps.sandboxes.values()] as PersistedSandbox[],
    };
    return { state: applied === 0 ? state : out, seq: last, applied, dropped };
  }
}
