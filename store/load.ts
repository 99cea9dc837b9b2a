/**
 * What restore reads before it rebuilds the model (L3): the newest good state file (bad ones moved aside and
 * logged), both journal files, and whether the machine rebooted since; then the journal applied to the state, and
 * the restore's log line.
 */
import type { Logger } from '../common/log.js';
import { STATE_FILE, type StateFiles } from './io/files.js';
import { chooseState, type PersistedState } from './document.js';
import { decodeJournal, replayJournal, type JournalEntry } from './journal.js';

/** What loadSaved found. */
export interface SavedState {
  readonly chosen: ReturnType<typeof chooseState>['chosen'];
  /** How many state files were refused. */
  readonly rejected: number;
  /** Every good line of state.journal.prev, then of state.journal. */
  readonly entries: readonly JournalEntry[];
  /** The newest state file was written in another boot (both ids known): the machine rebooted since the daemon ran. */
  readonly rebooted: boolean;
}

/** Read the saved state (see the module comment). Throws ERR_STORE_VERSION for a newer schema. */
export async function loadSaved(files: StateFiles, logger: Logger): Promise<SavedState> {
  const { chosen, rejected } = chooseState(await files.readAll());
  for (const bad of rejected) {
    const aside = bad.name === STATE_FILE || chosen === undefined ? await files.quarantine(bad.name) : undefined;
    logger.warn({ file: bad.name, code: bad.code, reason: bad.reason, ...(aside ? { movedTo: aside } : {}) }, `ignoring ${bad.name}: ${bad.reason}`);
  }
  const entries = await readJournals(files, logger);
  const now = files.bootId?.() ?? '';
  const rebooted = chosen?.name === STATE_FILE && chosen.bootId !== '' && now !== '' && chosen.bootId !== now;
  return { chosen, rejected: rejected.length, entries, rebooted };
}

/**
 * Both journal files, decoded apart (a torn line in the rotated one must not hide the current one). A torn tail of
 * the current one (a crash or power loss mid-append: never acknowledged) is cut off here, before anything is
 * appended after it: a later line written after those bytes would be read as part of them, and lost.
 */
async function readJournals(files: StateFiles, logger: Logger): Promise<JournalEntry[]> {
  if (files.readJournal === undefined) return [];
  const { prev, current } = await files.readJournal();
  const older = decodeJournal(prev);
  const newer = decodeJournal(current);
  if (older.torn) logger.warn({ file: 'state.journal.prev', goodBytes: older.goodBytes }, 'state journal: a torn or corrupt line was left out (an unfinished commit)');
  if (newer.torn) {
    const cut = Buffer.byteLength(current) - newer.goodBytes;
    logger.warn({ file: 'state.journal', goodBytes: newer.goodBytes, cut }, 'state journal: a torn or corrupt line was left out (an unfinished commit), and cut off');
    await files.cutJournal?.(newer.goodBytes);
  }
  return [...older.entries, ...newer.entries];
}

/** The snapshot with the journal's newer lines applied (a gap is logged and stops there; a bad record is left out). */
export function replayLogged(logger: Logger, state: PersistedState, seq: number, entries: readonly JournalEntry[]): { state: PersistedState; seq: number } {
  const r = replayJournal(state, seq, entries);
  if (r.gap) logger.warn({ snapshotSeq: seq, applied: r.applied }, 'state journal does not follow the snapshot used: its newer lines were left out');
  if (r.dropped.length > 0) logger.error({ dropped: r.dropped }, 'state journal: records that do not pass their check were left out (their objects are restored as the earlier records say, or not at all)');
  return { state: r.state, seq: r.seq };
}

/** The restore's log line: where the state came from and what the rebuild reported. */
export function reportRestore(logger: Logger, chosen: { name: string; seq: number; savedAt: string } | undefined, rejected: number, r: { readonly problems: readonly string[] }): void {
  const from = chosen === undefined ? { source: 'none' } : { source: chosen.name, seq: chosen.seq, savedAt: chosen.savedAt };
  const fields = { ...from, ...r };
  if (chosen === undefined && rejected > 0) logger.error(fields, 'no usable state file: starting empty (the bad files were moved aside)');
  else if (chosen !== undefined && chosen.name !== STATE_FILE) logger.warn(fields, `state recovered from ${chosen.name} (seq ${chosen.seq}): the newest write was incomplete or corrupt`);
  else logger.info(fields, chosen === undefined ? 'no saved state: starting empty' : `state restored from ${chosen.name} (seq ${chosen.seq})`);
  if (r.problems.length > 0) logger.warn({ problems: r.problems }, 'some saved objects could not be restored');
}
