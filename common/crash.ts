/**
 * Crash points (fault injection for the kill -9 tests, as etcd's gofail):
 * every step after which a crash leaves a different state on disk or in the
 * kernel calls `crashPoint`. With the environment variable
 * `SANDNS_CRASH_AT=<n>` (n ≥ 1) the process kills itself with SIGKILL at the
 * n-th point reached after `armCrashPoints()` (the daemon arms them once it
 * is ready, so a restore's own steps are not counted): no flush, no cleanup,
 * exactly what `kill -9` at that step does. Without the variable a crash point
 * costs one comparison. Points are counted in the order they are reached.
 */

/** What a crash point follows (the name is for the test's report). */
export type CrashPointName =
  /** A state write is durable (the file renamed and its directory synced). */
  | 'state-written'
  /** An external command (`ip`, `nsenter`) was started: dying here leaves it running as an orphan. */
  | 'exec-started'
  /** An external command finished, before its result is used. */
  | 'exec-done';

const at = ((): number | undefined => {
  const raw = process.env.SANDNS_CRASH_AT;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
})();
let armed = false;
let reached = 0;

/** Start counting crash points (no-op without SANDNS_CRASH_AT). */
export function armCrashPoints(): void {
  armed = at !== undefined;
}

/** One crash point: SIGKILL here when it is the chosen one (`name` says which step it follows). */
export function crashPoint(name: CrashPointName): void {
  if (!armed || ++reached !== at) return;
  process.stderr.write(`sandns: SANDNS_CRASH_AT=${at}: killed at ${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}
