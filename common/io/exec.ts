/**
 * Running external commands (nft; ip and nsenter only for diagnostics)
 * through execa. Failures become ExecError with argv and stderr, so a caller
 * sees what failed and why.
 */
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { ExecError } from '../errors.js';
import { crashPoint } from '../crash.js';

/**
 * Every child carries its daemon's pid in this variable, so a restarted daemon finds what its killed predecessor
 * left running (an orphan `nft` or `ip` can still change rules or links after the kill) and waits for it before reconciling (L3).
 */
export const PARENT_ENV = 'SANDNS_PARENT_PID';

/** Result of a successful command. */
export interface RunResult {
  stdout: string;
  stderr: string;
  /** The exit code (0 unless `reject: false`; -1 when the command was killed: a timeout or a signal). */
  exitCode: number;
}

/** Options for run(). */
export interface RunOptions {
  /** Text written to the command's stdin (a script the command reads). */
  input?: string;
  /** Fail after this many milliseconds. Default 30 s. */
  timeoutMs?: number;
  /** false: a non-zero exit resolves (with its exitCode) instead of throwing. A command that could not run still throws. */
  reject?: boolean;
}

/**
 * The ChildProcess objects Node creates while `spawning` is set: run() sets it around its synchronous execa() call,
 * and Node's 'child_process' diagnostics channel reports each ChildProcess as it is constructed, so run() sees the
 * one execa made even when execa cannot hand it back (below).
 */
let spawning: ChildProcess[] | undefined;
subscribe('child_process', (message) => {
  spawning?.push((message as { process: ChildProcess }).process);
});

/**
 * The error of a spawn that failed for lack of file descriptors, when `child` is one. Node's spawn() answers EMFILE
 * and ENFILE by leaving `child.stdio` unset and emitting 'error' on the next tick (lib/internal/child_process.js);
 * execa 9 then fails on the missing stdio before it listens for 'error', so that event would have no listener and
 * end the daemon. Listening here adopts it: the caller gets the spawn's own error (code EMFILE or ENFILE).
 */
function adoptSpawnFailure(child: ChildProcess | undefined): Promise<Error | undefined> | undefined {
  if (child === undefined || child.stdio !== undefined) return undefined;
  // A spawn that threw (not these errnos) emits nothing: the next macrotask, after every nextTick, ends the wait.
  return new Promise((res) => {
    child.once('error', res);
    setImmediate(res, undefined);
  });
}

/** Run a command; throw ExecError (ERR_EXEC_FAILED) on a non-zero exit, with the spawn's error as cause when it did not start. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const argv = [file, ...args];
  const made: ChildProcess[] = [];
  let spawnFailure: Promise<Error | undefined> | undefined;
  try {
    spawning = made;
    let child;
    try {
      child = execa(file, args, {
        input: options.input ?? '',
        timeout: options.timeoutMs ?? 30_000,
        env: { LC_ALL: 'C', [PARENT_ENV]: String(process.pid) },
        stripFinalNewline: true,
        reject: options.reject ?? true,
      });
    } finally {
      spawning = undefined;
      spawnFailure = adoptSpawnFailure(made[0]);
    }
    crashPoint('exec-started');
    const result = await child;
    crashPoint('exec-done');
    // Not run at all (ENOENT, EACCES): an error even with `reject: false`; a timeout or a signal keeps its output.
    if (result.failed && result.exitCode === undefined && result.signal === undefined && !result.timedOut) throw result;
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  } catch (err) {
    const cause = (await spawnFailure) ?? err;
    const e = cause as { stderr?: unknown; shortMessage?: unknown };
    const stderr = typeof e.stderr === 'string' && e.stderr !== '' ? e.stderr : String(e.shortMessage ?? cause);
    throw new ExecError(argv, stderr, { cause });
  }
}

/** Run `ip` with the given arguments (optionally inside a named netns via -n). */
export function ip(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('ip', args, options);
}

/** Run `ip -j ...` and parse its JSON output. */
export async function ipJson<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await run('ip', ['-j', ...args]);
  return (stdout.trim() === '' ? [] : JSON.parse(stdout)) as T;
}

/** Run a command inside the network namespace at `nsPath` (nsenter --net). */
export function runInNetns(nsPath: string, file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('nsenter', [`--net=${nsPath}`, '--', file, ...args], options);
}

/**
 * Wait until no process started by the daemon `parentPid` (a killed predecessor: its children were not killed with
 * it) is running, at most `timeoutMs`; resolves with the pids still running then (empty when none). Reads
 * /proc/<pid>/environ for PARENT_ENV (root reads every process's).
 */
export async function waitForOrphans(parentPid: number, timeoutMs = 10_000): Promise<number[]> {
  const mark = `${PARENT_ENV}=${parentPid}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left: number[] = [];
    for (const name of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^[0-9]+$/.test(name)) continue;
      const env = await readFile(`/proc/${name}/environ`, 'latin1').catch(() => '');
      if (env.split('\0').includes(mark)) left.push(Number(name));
    }
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 20));
  }
}
