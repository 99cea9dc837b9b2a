/**
 * What every CLI command gets: the I/O it may use (injected, so unit tests
 * run the whole command line against a fake API), the client for the socket
 * the global options name, and one way to print a result.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { socketPathFrom, type ApiClient } from './client.js';
import { isObjectName, OBJECT_NAME_RULE } from '../../common/object-name.js';
import { UsageError } from './errors.js';

/** The outside world of the CLI. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Ask the person at the terminal a yes/no question (`network prune`); resolves true only for y or yes. Absent, or
   * stdin at its end: false (nothing is done without an answer).
   */
  confirm?(question: string): Promise<boolean>;
  /** A client for the daemon at `socketPath`; `timeoutMs`: the deadline of each call (default: the client's). */
  connect(socketPath: string, options?: { timeoutMs?: number }): ApiClient;
}

/** Options every command accepts (defined on the program). */
export interface GlobalOptions {
  socket?: string;
  json?: boolean;
}

/** Helpers shared by the command definitions. */
export interface CliContext {
  readonly io: CliIo;
  /** Exit code a command wants once it returns (daemon). */
  exitCode: number;
  /** The client for `--socket` / $SANDNS_SOCKET / the default. */
  client(cmd: Command, options?: { timeoutMs?: number }): ApiClient;
  /** The socket path the global options select. */
  socketPath(cmd: Command): string;
  /** Print `data` as JSON with --json, else as `human(data)`. */
  emit<T>(cmd: Command, data: T, human: (d: T) => string): void;
}

/** Build the context over some I/O. */
export function createContext(io: CliIo): CliContext {
  const socketPath = (cmd: Command): string => socketPathFrom((cmd.optsWithGlobals() as GlobalOptions).socket, io.env);
  return {
    io,
    exitCode: 0,
    socketPath,
    client: (cmd, options) => io.connect(socketPath(cmd), options),
    emit(cmd, data, human) {
      io.stdout((cmd.optsWithGlobals() as GlobalOptions).json ? `${JSON.stringify(data, null, 2)}\n` : human(data));
    },
  };
}

/** commander collector for repeatable options (`--dns A --dns B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** commander parser for a non-negative integer (`--ttl`). */
export function parseCount(value: string): number {
  if (!/^[0-9]{1,10}$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
}

/** `NAME:IP` of --add-host, split at the first ':' (IPv6 addresses keep theirs), as docker does. */
export function parseExtraHost(value: string, previous: { name: string; ip: string }[] = []): { name: string; ip: string }[] {
  const i = value.indexOf(':');
  if (i <= 0 || i === value.length - 1) throw new InvalidArgumentError('must be NAME:IP, e.g. db:10.0.0.5');
  return [...previous, { name: value.slice(0, i), ip: value.slice(i + 1) }];
}

/**
 * `name` as the one path segment of `/networks/<name>` or `/sandboxes/<name>`
 * (%-encoded). A name the controller would refuse (common/object-name.ts) is a
 * usage error here, before any request: `.` or `..` would otherwise name
 * another path (RFC 3986 §5.2.4), and the daemon's answer would not be about
 * that object. Throws ERR_CLI_USAGE (exit 2).
 */
export function objectSegment(kind: 'network' | 'sandbox', name: string): string {
  if (!isObjectName(name)) throw new UsageError(`${kind} name ${JSON.stringify(name)}: ${OBJECT_NAME_RULE}`);
  return encodeURIComponent(name);
}
