/**
 * CLI errors and exit codes. A script can tell a refused operation (1) from a
 * usage mistake (2) and from a daemon that is not there (3).
 */
import { SandnsError, type ErrorCode } from '../../common/errors.js';

/** Exit codes of the sandns CLI. */
export const EXIT = {
  OK: 0,
  /** The daemon refused or failed the operation (its code is printed). */
  FAILED: 1,
  /** Bad command line (unknown option, missing argument, malformed value). */
  USAGE: 2,
  /** The daemon's socket cannot be reached. */
  UNREACHABLE: 3,
} as const;

/** Nothing answers on the API socket; the message says how to start the daemon. */
export class DaemonUnreachableError extends SandnsError {
  constructor(socketPath: string, reason: string, cause?: unknown) {
    super(
      'ERR_CLI_DAEMON_UNREACHABLE',
      `cannot reach the sandns daemon at ${socketPath}: ${reason}` +
        // A path that is not a socket is a wrong --socket, not a daemon to start there (it would refuse the path).
        (reason.includes(', not a socket:') ? '' : `\nStart it with: sudo sandns daemon --socket ${socketPath}   (or pass --socket / set SANDNS_SOCKET)`),
      503,
      { cause, details: { socket: socketPath } },
    );
    this.name = 'DaemonUnreachableError';
  }
}

/** The command line is wrong in a way commander cannot see. */
export class UsageError extends SandnsError {
  constructor(problem: string) {
    super('ERR_CLI_USAGE', problem, 400);
    this.name = 'UsageError';
  }
}

/** `sandns port SANDBOX PORT[/PROTO]`: the sandbox publishes no such port (exit 1, as `docker port`). */
export class PortNotPublishedError extends SandnsError {
  constructor(sandbox: string, port: string) {
    super('ERR_CLI_PORT_NOT_PUBLISHED', `no public port ${port} published for ${sandbox} (see "sandns port ${sandbox}")`, 404);
    this.name = 'PortNotPublishedError';
  }
}

/** `sandns network prune` was not confirmed at its prompt (no `--force`): nothing was removed (exit 1, as Docker). */
export class CancelledError extends SandnsError {
  constructor(what: string) {
    super('ERR_CLI_CANCELLED', `${what} cancelled: nothing was removed (answer y, or pass --force)`, 409);
    this.name = 'CancelledError';
  }
}

/** The OCI hook could not pin or unpin a container's namespace (`ip netns attach/delete` failed; exit 1). */
export class HookPinError extends SandnsError {
  constructor(problem: string) {
    super('ERR_CLI_HOOK_PIN', problem, 500);
    this.name = 'HookPinError';
  }
}

/** The daemon answered something that is not the API's JSON. */
export class BadResponseError extends SandnsError {
  constructor(problem: string) {
    super('ERR_CLI_BAD_RESPONSE', `unexpected answer from the daemon: ${problem}`, 502);
    this.name = 'BadResponseError';
  }
}

/** The daemon refused the operation: its {code, message}, as sent. */
export class ApiCallError extends SandnsError {
  constructor(code: ErrorCode, message: string, status: number) {
    super(code, message, status);
    this.name = 'ApiCallError';
  }
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof DaemonUnreachableError) return EXIT.UNREACHABLE;
  if (err instanceof UsageError) return EXIT.USAGE;
  return EXIT.FAILED;
}

/** How an error reads on stderr: `Error: MESSAGE [CODE]` (further message lines after it), or one JSON line with --json. */
export function errorText(err: unknown, json: boolean): string {
  const e = err instanceof SandnsError ? err : undefined;
  const code = e?.code ?? 'ERR_CLI_INTERNAL';
  const message = e?.message ?? (err instanceof Error ? err.message : String(err));
  const [first, ...more] = message.split('\n');
  return json ? `${JSON.stringify({ code, message })}\n` : `Error: ${first} [${code}]\n${more.map((l) => `${l}\n`).join('')}`;
}
