/**
 * Crash points (fault injection for the kill -9 tests, as etcd's gofail):
 * every step after which a crash leaves a different state on disk or in the
 * kernel calls `crashPoint`. Only a daemon started with the environment
 * variable `SANDNS_CRASH_POINTS=1` honours them: a request carrying the
 * header `x-sandns-crash-at: <n>` (n ≥ 1) makes the process kill itself with
 * SIGKILL at the n-th point reached from then on — no flush, no cleanup,
 * exactly what `kill -9` at that step does. Otherwise a crash point costs
 * one comparison. Points are counted in the order they are reached.
 */

/** What a crash point follows (the name is written to stderr when it fires). */
export type CrashPointName =
  /** A state write is durable (the file renamed and its directory synced). */
  | 'state-written'
  /** An external command (`ip`, `nsenter`) was started: dying here leaves it running as an orphan. */
  | 'exec-started'
  /** An external command finished, before its result is used. */
  | 'exec-done';

const enabled = process.env.SANDNS_CRASH_POINTS === '1';
let at: number | undefined;
let reached = 0;

/** Die at the `n`-th crash point from now; false (nothing armed) unless SANDNS_CRASH_POINTS=1. */
export function armCrashPoints(n: number): boolean {
  if (!enabled || !Number.isSafeInteger(n) || n < 1) return false;
  at = n;
  reached = 0;
  return true;
}

/** One crash point: SIGKILL here when it is the chosen one (`name` says which step it follows). */
export function crashPoint(name: CrashPointName): void {
  if (at === undefined || ++reached !== at) return;
  process.stderr.write(`sandns: crash point ${at} (${name}): SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
