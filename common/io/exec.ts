/**
 * Running external commands (nft; ip and nsenter only for diagnostics)
 * through execa. Failures become ExecError with argv and stderr, so a caller
 * sees what failed and why.
 */
import { execa } from 'execa';
import { ExecError } from '../errors.js';

/** Result of a successful command. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Options for run(). */
export interface RunOptions {
  /** Text written to the command's stdin (a script the command reads). */
  input?: string;
  /** Fail after this many milliseconds. Default 30 s. */
  timeoutMs?: number;
}

/** Run a command; throw ExecError (ERR_EXEC_FAILED) on a non-zero exit. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const argv = [file, ...args];
  try {
    const result = await execa(file, args, {
      input: options.input ?? '',
      timeout: options.timeoutMs ?? 30_000,
      env: { LC_ALL: 'C' },
      stripFinalNewline: true,
    });
    return { stdout: result.stdout, stderr: result.stderr };
  } catch (err) {
    const e = err as { stderr?: unknown; shortMessage?: unknown };
    const stderr = typeof e.stderr === 'string' && e.stderr !== '' ? e.stderr : String(e.shortMessage ?? err);
    throw new ExecError(argv, stderr, { cause: err });
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
