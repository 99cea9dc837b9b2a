/**
 * What a reboot ends (L6), for the store's choice of which journal lines to sync (keeper.ts, module comment): a
 * line holding only such records is written without fdatasync; one holding any record that outlives a reboot is
 * synced.
 */
import type { PersistedEndpoint, PersistedSandbox } from './document.js';
import type { JournalOp, RecordKey } from './journal.js';

/**
 * An endpoint record that a reboot ends: joined (or joining) a sandbox, or one that exists only while joined. A claim
 * waiting for a late sandbox's key ('deferred') is not: the sandbox outlives a reboot, and so does the claim.
 */
function isJoinScoped(ep: PersistedEndpoint): boolean {
  if (ep.join?.phase === 'deferred') return false;
  return ep.join !== undefined || ep.joinedOnly === true;
}

/** A sandbox record that a reboot ends: past its 'creating' intent, with a namespace of its own or adopted (not 'late'). */
function isSandboxScoped(sb: PersistedSandbox): boolean {
  return sb.phase !== 'creating' && sb.key.kind !== 'late';
}

/**
 * Whether `op` describes only what a reboot ends: a sandbox record other than its 'creating' intent, unless the
 * sandbox waits for late keys (it outlives a reboot); an endpoint record while it is joined or exists only while
 * joined, unless it is a claim waiting for a late key; or the removal of a key whose last record written by this
 * process was one of those (any other removal is synced). `machineKeys` holds the keys whose last record written was
 * machine-scoped; it is updated here.
 */
export function machineScoped(op: JournalOp, machineKeys: Set<RecordKey>): boolean {
  let scoped: boolean;
  if ('del' in op) scoped = machineKeys.has(op.key);
  else if (op.key.startsWith('sb:')) scoped = isSandboxScoped(op.put as PersistedSandbox);
  else if (op.key.startsWith('ep:')) scoped = isJoinScoped(op.put as PersistedEndpoint);
  else scoped = false;
  if (scoped && !('del' in op)) machineKeys.add(op.key);
  else machineKeys.delete(op.key);
  return scoped;
}
