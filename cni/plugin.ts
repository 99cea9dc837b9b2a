/**
 * One plugin invocation (CNI spec 1.0.0 "Protocol"): parameters from the
 * environment, the configuration on stdin, the result or the error JSON on
 * stdout with exit code 0 or 1. The only catch of the plugin (G8): every
 * failure becomes a CNI error object; an unexpected one is code 100 with its
 * message, never a stack on stdout.
 */
import { add } from './add.js';
import { check } from './check.js';
import { checkVersion, decodeStdin, parseConfig } from './config.js';
import type { DaemonApi } from './daemon.js';
import { del, replayDeferred, type DeferredStore } from './del.js';
import { parseInvocation } from './env.js';
import { CniConfigError, CniError, CniUnsupportedError } from './errors.js';
import { renderResult } from './result.js';
import { CNI_CODE, CURRENT_VERSION, SUPPORTED_VERSIONS, type CniErrorResult } from './spec.js';

/** Where the daemon listens unless the config's `socket` or $SANDNS_SOCKET says otherwise (as the CLI). */
export const DEFAULT_SOCKET = '/run/sandns/sandns.sock';

/** What one invocation needs from the world (G12). */
export interface PluginIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: string;
  /** The API client for a socket path. */
  connect(socket: string): DaemonApi;
  /** The deferred-records store beside a socket. */
  deferredStore(socket: string): DeferredStore;
  /** The identity (`<device>:<inode>`) of the namespace file at a path; undefined when it cannot be read (cni/io/netns.ts). */
  namespaceIdentity(path: string): Promise<string | undefined>;
  now(): Date;
}

/** What the process prints and how it exits. */
export interface PluginOutcome {
  readonly stdout: string;
  readonly exitCode: 0 | 1;
  /** A note for stderr (the runtime logs it), e.g. a deferred DEL. */
  readonly stderr?: string;
}

/** The socket: the config's `socket`, else $SANDNS_SOCKET, else the default. */
export function socketOf(configSocket: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  if (configSocket !== undefined) return configSocket;
  return env.SANDNS_SOCKET !== undefined && env.SANDNS_SOCKET !== '' ? env.SANDNS_SOCKET : DEFAULT_SOCKET;
}

/** A CNI error result for any thrown value. */
export function errorResult(err: unknown, cniVersion: string): CniErrorResult {
  if (err instanceof CniError) {
    return { cniVersion, code: err.cniCode, msg: err.message, ...(err.cniDetails === undefined ? {} : { details: err.cniDetails }) };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { cniVersion, code: CNI_CODE.DAEMON_FAILED, msg: `sandns-cni: unexpected error: ${msg}` };
}

function json(v: unknown): string {
  return `${JSON.stringify(v)}\n`;
}

async function dispatch(io: PluginIo, setVersion: (v: string) => void): Promise<PluginOutcome> {
  const inv = parseInvocation(io.env);
  if (inv.command === 'VERSION') return { stdout: json({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }), exitCode: 0 };
  const raw = decodeStdin(io.stdin);
  if (typeof raw.cniVersion === 'string') setVersion(raw.cniVersion);
  if (inv.command === 'DEL') {
    // DEL needs only the network's name: a config that no longer parses must not keep a container alive.
    checkVersion(raw);
    if (typeof raw.name !== 'string' || raw.name === '') throw new CniConfigError('name', 'missing (it names the sandns network)');
    const socket = socketOf(typeof raw.socket === 'string' && raw.socket !== '' ? raw.socket : undefined, io.env);
    const outcome = await del(raw.name, inv, io.connect(socket), io.deferredStore(socket), io.now);
    return !outcome.deferred ? { stdout: '', exitCode: 0 } : {
      stdout: '', exitCode: 0,
      stderr: `sandns-cni: DEL recorded, not applied: ${outcome.reason}; the daemon at ${socket} applies it at its next start, or the next ADD or DEL of this container does\n`,
    };
  }
  const config = parseConfig(raw);
  const socket = socketOf(config.socket, io.env);
  const api = io.connect(socket);
  if (inv.command === 'CHECK') {
    if (config.cniVersion !== '0.4.0' && config.cniVersion !== '1.0.0') throw new CniUnsupportedError('config version does not allow CHECK', CNI_CODE.INCOMPATIBLE_VERSION);
    await check(config, inv, api);
    return { stdout: '', exitCode: 0 };
  }
  const store = io.deferredStore(socket);
  const result = await add(config, inv, { api, replayDeferred: (sb) => replayDeferred(api, store, sb), identify: (p) => io.namespaceIdentity(p) });
  return { stdout: json(renderResult(result, config.cniVersion)), exitCode: 0 };
}

/** Run one invocation; never throws. */
export async function runPlugin(io: PluginIo): Promise<PluginOutcome> {
  let version: string = CURRENT_VERSION;
  try {
    return await dispatch(io, (v) => (version = v));
  } catch (err) {
    return { stdout: json(errorResult(err, version)), exitCode: 1 };
  }
}
