/**
 * rtnetlink sockets (rtnetlink(7)) through the `netlink` package: a small
 * pool of long-lived sockets in the daemon's own namespace, and short-lived ones
 * created inside a sandbox's namespace. The package always calls socket(2)
 * itself and cannot adopt a descriptor, so the native helper runs its
 * constructor with the thread switched into the namespace (callInNetns); the
 * socket keeps that namespace for good (socket(7)). No process is spawned.
 * Each host socket sends from a thread of its own (native/netlink_send.c):
 * the kernel does each request's work inside sendmsg(2), and a veth's
 * deletion there takes 15-30 ms that would otherwise stall the event loop.
 */
import { createRequire } from 'node:module';
import type { RtNetlinkSocket } from 'netlink';
import { SandnsError } from '../errors.js';
import { nativeNetlinkSend, requireNativeHelper } from './native.js';
import { ExclusivePool, type PoolStats } from '../pool.js';

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

/**
 * How many sockets of the daemon's own namespace plans may use at once. Each
 * socket carries one plan at a time, so at most one reply waits on it: the
 * package's multipart assembly is per socket (concurrent dumps on one socket
 * would interleave), and a receive queue that overflows leaves ENOBUFS pending
 * on the socket, which netlink@0.3.0 turns into a process abort (an exception
 * thrown from its libuv poll callback). The kernel does a request's work in
 * sendmsg, under the RTNL lock; concurrent plans overlap the rest (the reads
 * of replies, the sandbox side, files). 8 measured as fast as 16 for 64
 * concurrent joins, and twice as fast as 1.
 */
export const HOST_SOCKETS = 8;

/** The `netlink` package's native socket object: send(port, groups, data, callback) is what RawNetlinkSocket.send calls. */
interface PackageNativeSocket {
  send: (port: number, groups: number, data: Buffer | Buffer[], callback: (error?: Error) => void) => void;
}

/**
 * The namespace file each socket of openNetlinkIn was made in. The addons find a socket's descriptor by its port,
 * and a port id is unique only per namespace: they are told which namespace to look in (absent: the calling
 * thread's, the daemon's own).
 */
const madeIn = new WeakMap<RtNetlinkSocket, string>();

/**
 * Route a socket's sends through a sender thread of its own (native/netlink_send.c) instead of the package's
 * synchronous sendmsg(2) on the main thread. Replies still arrive on the socket and are read by the package as
 * before; sends keep their order. Sockets overlap: one socket's veth deletion (its RCU wait runs after the kernel
 * drops the RTNL lock) does not hold up another's requests. `hint`: the descriptor the socket probably has
 * (lowestFreeFd() taken just before it was made), checked before a scan of /proc/self/fd. The socket is matched by
 * port, protocol and namespace (openNetlinkIn's, else the daemon's own). Without the addon (or when the socket's
 * descriptor cannot be found) the socket stays as it is; two matching sockets throw (code ENOTUNIQ).
 */
export function sendOffThread(nl: RtNetlinkSocket, hint?: number): RtNetlinkSocket {
  const sender = nativeNetlinkSend();
  if (sender === undefined) return nl;
  const lane = sender.adopt(nl.socket.address().port, hint ?? -1, madeIn.get(nl));
  if (lane < 0) return nl;
  // RtNetlinkSocket → NetlinkSocket (requests, replies) → RawNetlinkSocket → the addon's object.
  const native = (nl.socket as unknown as { socket: { __native: PackageNativeSocket } }).socket.__native;
  // The addon's methods live on its prototype, read-only: an own property of this instance shadows it.
  const send: PackageNativeSocket['send'] = (port, groups, data, callback) => sender.send(lane, port, groups, data, callback);
  Object.defineProperty(native, 'send', { value: send });
  nl.socket.once('close', () => sender.release(lane));
  return nl;
}

/** A host socket sending off the main thread; its descriptor is looked for first where socket(2) put it. */
function createHostSocket(): RtNetlinkSocket {
  const hint = nativeNetlinkSend()?.lowestFreeFd();
  return sendOffThread(guard(createRtNetlink(), undefined), hint);
}

const hostPool = new ExclusivePool<RtNetlinkSocket>({ size: HOST_SOCKETS, create: createHostSocket });

/** Counters of the host socket pool (made, open, busy, waiting). */
export function hostNetlinkStats(): PoolStats {
  return hostPool.stats;
}

/** A new rtnetlink socket inside the namespace at `nsPath`; the caller closes it (`socket.close()`). */
export function openNetlinkIn(nsPath: string): RtNetlinkSocket {
  try {
    const nl = guard(requireNativeHelper().callInNetns(nsPath, () => createRtNetlink()), nsPath);
    madeIn.set(nl, nsPath);
    return nl;
  } catch (err) {
    if (err instanceof SandnsError) throw err;
    throw new NetlinkError('open a socket', (err as { errno?: number }).errno === 2 ? 'ENOENT' : netlinkErrno(err), { cause: err, netns: nsPath });
  }
}

/** Run `fn` with an rtnetlink socket inside `nsPath` (null: the daemon's own), closing a namespace socket after. */
export async function withNetlink<T>(nsPath: string | null, fn: (nl: RtNetlinkSocket) => Promise<T>): Promise<T> {
  if (nsPath === null) {
    return hostPool.use(fn);
  }
  const nl = openNetlinkIn(nsPath);
  try {
    return await fn(nl);
  } finally {
    setImmediate(() => nl.socket.close()); // on a later turn: outside the package's native read callback
  }
}
