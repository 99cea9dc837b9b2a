/**
 * Crash points (fault injection for the kill -9 tests, as etcd's gofail):
 * every step after which a crash leaves a different state on disk or in the
 * kernel calls `crashPoint` (state writes, external commands, each
 * in-process rtnetlink change). Only a daemon started with the environment
 * variable `SANDNS_CRASH_POINTS=1` honours them: a request carrying the
 * header `x-sandns-crash-at: <n>` (n ≥ 1) makes the process kill itself with
 * SIGKILL at the n-th point reached from then on — no flush, no cleanup,
 * exactly what `kill -9` at that step does (`x-sandns-crash-signal: SIGSTOP`
 * freezes it there instead). Otherwise a crash point costs one comparison.
 * Points are counted in the order they are reached.
 */

/** What a crash point follows (the name is written to stderr when it fires). */
export type CrashPointName =
  /** A state write is durable (the file renamed and its directory synced). */
  | 'state-written'
  /** An external command (`ip`, `nsenter`) was started: dying here leaves it running as an orphan. */
  | 'exec-started'
  /** An external command finished, before its result is used. */
  | 'exec-done'
  /** One kernel change made in-process (an rtnetlink request answered, a namespace made or removed). */
  | 'kernel-changed';

const enabled = process.env.SANDNS_CRASH_POINTS === '1';
let at: number | undefined;
let only: CrashPointName | undefined;
let signal: 'SIGKILL' | 'SIGSTOP' = 'SIGKILL';
let reached = 0;

/**
 * Fire at the `n`-th crash point from now (`spec` is "<n>" or "<n>:<point name>" to count only that kind).
 * SIGKILL by default; SIGSTOP freezes the process there instead, so a test can break the disk at that exact step and
 * SIGCONT it. False (nothing armed) unless SANDNS_CRASH_POINTS=1 or when `spec` is not understood.
 */
export function armCrashPoints(spec: string, sig: 'SIGKILL' | 'SIGSTOP' = 'SIGKILL'): boolean {
  const m = /^([0-9]{1,6})(?::(state-written|exec-started|exec-done|kernel-changed))?$/.exec(spec);
  if (!enabled || m === null || Number(m[1]) < 1) return false;
  at = Number(m[1]);
  only = m[2] as CrashPointName | undefined;
  signal = sig;
  reached = 0;
  return true;
}

/** One crash point: the armed signal here when it is the chosen one (`name` says which step it follows). */
export function crashPoint(name: CrashPointName): void {
  if (at === undefined || (only !== undefined && name !== only) || ++reached !== at) return;
  at = undefined;
  process.stderr.write(`sandns: crash point ${reached} (${name}): ${signal}\n`);
  process.kill(process.pid, signal);
}
