/**
 * rtnetlink sockets (rtnetlink(7)) through the `netlink` package: one
 * long-lived socket in the daemon's own namespace, and short-lived ones
 * created inside a sandbox's namespace. The package always calls socket(2)
 * itself and cannot adopt a descriptor, so the native helper runs its
 * constructor with the thread switched into the namespace (callInNetns); the
 * socket keeps that namespace for good (socket(7)). No process is spawned.
 */
import { createRequire } from 'node:module';
import type { RtNetlinkSocket } from 'netlink';
import { SandnsError } from '../errors.js';
import { requireNativeHelper } from './native.js';

export type { RtNetlinkSocket } from 'netlink';

let lib: typeof import('netlink') | undefined;

/**
 * The `netlink` package, loaded on first use: it is large (every netlink family's generated
 * structs), and CLI processes that never touch a link should not pay for it at start-up.
 */
export function netlinkLib(): typeof import('netlink') {
  lib ??= createRequire(import.meta.url)('netlink') as typeof import('netlink');
  return lib;
}

const createRtNetlink = (): RtNetlinkSocket => netlinkLib().createRtNetlink();

/** An rtnetlink request the kernel refused (or that could not be sent). */
export class NetlinkError extends SandnsError {
  /** The errno name the kernel answered (EEXIST, ENODEV ...), or '' when unknown. */
  readonly errno: string;

  constructor(what: string, errno: string, options: { cause?: unknown; netns?: string } = {}) {
    const where = options.netns === undefined ? '' : ` (in ${options.netns})`;
    const reason = errno !== '' ? errno : options.cause instanceof Error ? options.cause.message : 'failed';
    super('ERR_NETLINK_FAILED', `rtnetlink: ${what}${where}: ${reason}`, 500, {
      cause: options.cause,
      details: { op: what, errno, ...(options.netns === undefined ? {} : { netns: options.netns }) },
    });
    this.name = 'NetlinkError';
    this.errno = errno;
  }
}

/** Errnos libuv has no name for (asm-generic/errno.h), with what they mean here. */
const UNNAMED_ERRNO: Readonly<Record<number, string>> = { 54: 'EXFULL (a Linux bridge holds at most 1023 ports)' };

/** The errno name in an error from the `netlink` package ("Request rejected: EEXIST"), or ''. */
export function netlinkErrno(err: unknown): string {
  if (err instanceof NetlinkError) return err.errno;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  const text = String(e?.message ?? '');
  const m = /Request rejected: (E[A-Z0-9]+)/.exec(text);
  if (m !== null) return m[1]!;
  // Node names only the errnos libuv knows; the kernel's others come as "Unknown system error -N".
  const n = /Unknown system error -(\d+)/.exec(text)?.[1];
  return n === undefined ? '' : (UNNAMED_ERRNO[Number(n)] ?? `errno ${n}`);
}

/** Receive buffer of every socket: room for the replies of many concurrent requests (capped by net.core.rmem_max). */
const RECV_BUFFER = 4 << 20;

/**
 * Make a fresh socket safe to share. The package throws an 'error' event with
 * no listener from a native callback, which aborts the process; and a receive
 * error (ENOBUFS: the kernel dropped a reply) would leave requests waiting for
 * ever. So every such error fails the requests in flight, whose callers unwind.
 */
function guard(nl: RtNetlinkSocket, netns: string | undefined): RtNetlinkSocket {
  try {
    nl.socket.setRecvBufferSize(RECV_BUFFER);
  } catch {
    /* the default buffer still works */
  }
  nl.socket.on('error', (err: Error) => {
    const pending = (nl.socket as unknown as { requests: Map<number, (e: Error | null) => void> }).requests;
    const failure = new NetlinkError('receive', netlinkErrno(err) || (err as { code?: string }).code || '', { cause: err, ...(netns === undefined ? {} : { netns }) });
    for (const cb of [...pending.values()]) cb(failure);
  });
  return nl;
}

let host: RtNetlinkSocket | undefined;
/**
 * Plans on the shared socket run one at a time. netlink@0.3.0 aborts the
 * process ("terminate called after throwing an instance of 'Napi::Error'")
 * when many requests are in flight on one socket (reproduced: 60 concurrent
 * joins); the kernel serialises them under the RTNL lock anyway.
 */
let hostQueue: Promise<void> = Promise.resolve();

/** The shared rtnetlink socket of the daemon's own namespace (created on first use; never keeps the process alive). */
export function hostNetlink(): RtNetlinkSocket {
  host ??= guard(createRtNetlink(), undefined);
  return host;
}

/** A new rtnetlink socket inside the namespace at `nsPath`; the caller closes it (`socket.close()`). */
export function openNetlinkIn(nsPath: string): RtNetlinkSocket {
  try {
    return guard(requireNativeHelper().callInNetns(nsPath, () => createRtNetlink()), nsPath);
  } catch (err) {
    if (err instanceof SandnsError) throw err;
    throw new NetlinkError('open a socket', (err as { errno?: number }).errno === 2 ? 'ENOENT' : netlinkErrno(err), { cause: err, netns: nsPath });
  }
}

/** Run `fn` with an rtnetlink socket inside `nsPath` (null: the daemon's own), closing a namespace socket after. */
export async function withNetlink<T>(nsPath: string | null, fn: (nl: RtNetlinkSocket) => Promise<T>): Promise<T> {
  if (nsPath === null) {
    const run = hostQueue.then(() => fn(hostNetlink()));
    hostQueue = run.then(() => undefined, () => undefined);
    return run;
  }
  const nl = openNetlinkIn(nsPath);
  try {
    return await fn(nl);
  } finally {
    setImmediate(() => nl.socket.close()); // on a later turn: outside the package's native read callback
  }
}
