/**
 * The native helper (native/netns_socket.c), built by `npm run build:native`
 * (scripts/setup.sh does it). It does, in-process and without a child, what
 * needs the calling thread inside another network namespace: create a socket
 * there (~0.1 ms), run a short synchronous function there (the `netlink`
 * package's socket constructor), and create or remove a pinned namespace as
 * `ip netns add/del` do. A second addon, native/upstream_udp.c, runs upstream
 * UDP queries on fresh connected sockets at a few system calls each (FS1). A
 * third, native/netlink_send.c, sends rtnetlink requests from its own thread
 * (the kernel does a request's work inside sendmsg(2): deleting a veth blocks
 * the sender for 15-30 ms). SANDNS_NO_NATIVE=1 hides all three (tests of the
 * fallbacks).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { fileLimitOf, SandnsError } from '../errors.js';

/** socketInNetns(nsPath, family, type, address?, port?, listen?) -> fd. */
export type SocketInNetns = (nsPath: string, family: 4 | 6, type: 'udp' | 'tcp', address?: string, port?: number, listen?: boolean) => number;

/** trimDatagrams(fd, maxPayload): the kernel cuts every datagram to maxPayload bytes (a BPF socket filter). */
export type TrimDatagrams = (fd: number, maxPayload: number) => void;

/** The helper's functions. Each throws an Error with code ERR_NETNS_SOCKET and the errno on failure. */
export interface NativeHelper {
  readonly socketInNetns: SocketInNetns;
  /** A sandbox's DNS listeners, UDP bound and TCP listening, made with one switch into `nsPath` and one back: [udpFd, tcpFd]. */
  readonly listenersInNetns: (nsPath: string, family: 4 | 6, address: string, port: number) => [number, number];
  /** Call `fn` with this thread inside `nsPath`'s namespace (switched back after, even on a throw). */
  readonly callInNetns: <T>(nsPath: string, fn: () => T) => T;
  /**
   * Create the file `path` and pin a new, empty namespace on it (`ip netns add`); with `loMark`, its `lo` is up with
   * that ifalias (1-254 bytes) before this returns, done from inside with no second switch. EEXIST when the file
   * exists; on any failure nothing is left.
   */
  readonly createNetns: (path: string, loMark?: string) => void;
  /** Unpin and remove `path` (`ip netns del`); a missing file is not an error. */
  readonly removeNetns: (path: string) => void;
  /** Absent when the helper was built before it existed. */
  readonly trimDatagrams?: TrimDatagrams;
  /**
   * Set NETLINK_NO_ENOBUFS on this process's rtnetlink socket bound to `portId` (its nl_pid) in the namespace at
   * `nsPath` (absent: the calling thread's; a port id is unique only per namespace and protocol, so a port alone
   * can name another namespace's socket); returns how many sockets matched (0 or 1). Throws (errno ENOTUNIQ) when
   * two do. Absent when the helper was built before it existed.
   */
  readonly netlinkNoEnobufs?: (portId: number, nsPath?: string) => number;
  /**
   * Attach a socket filter to that socket (matched as for netlinkNoEnobufs) that keeps only messages of type
   * `nlmsgType` (the kernel drops the others before queueing them); returns how many sockets matched (0 or 1).
   * Absent when the helper was built before it existed.
   */
  readonly netlinkOnlyType?: (portId: number, nlmsgType: number, nsPath?: string) => number;
}

/** The helper is not built, or disabled: sandns cannot reach inside namespaces without spawning. */
export class NativeHelperMissingError extends SandnsError {
  /** `cause`: why loading it failed this time, when that may pass (out of file descriptors: the API's 503). */
  constructor(cause?: unknown) {
    super('ERR_NATIVE_HELPER_MISSING', 'the native helper is not built (or SANDNS_NO_NATIVE=1): run "npm run build:native"', 500, cause === undefined ? {} : { cause });
    this.name = 'NativeHelperMissingError';
  }
}

/**
 * native/upstream_udp.c: open() → id > 0 or -errno (a connected socket on a fresh random port; a recycled
 * socket object when one of that namespace, family and device is idle); close(id) ends the use (the socket is
 * disconnected, emptied and kept idle, or closed); setReceiver(fn) where fn hears every datagram and socket
 * error (native/slab.h: a datagram is a range of a shared ArrayBuffer); ends(id) → [localAddress, localPort,
 * remoteAddress, remotePort]; sendTo(fd, datagram, family, address, port) → 0 or -errno.
 */
export interface UpstreamUdpModule {
  open(nsPath: string, family: 4 | 6, address: string, port: number, device: string, query: Buffer): number;
  close(id: number): void;
  /** fn(id, slab, offset, length): a datagram, slab[offset, offset + length); fn(id, undefined, errno, 0): a socket error. */
  setReceiver(fn: (id: number, slab: ArrayBuffer | undefined, offsetOrErrno: number, length: number) => void): void;
  ends(id: number): [string, number, string, number] | undefined;
  /** Sockets in use (opened and not yet closed). */
  pending(): number;
  /** Idle sockets kept for reuse (at most 64 per namespace, family and device; 1,024 in all). */
  idle(): number;
  /** Close the idle sockets of the namespace at `nsPath` (by inode, or the path they were opened with), or all; returns how many. */
  flush(nsPath?: string): number;
  /** Tests only: recycle without emptying the receive queue or the pending error (shows the per-use port check). */
  keepQueueForTest(on: boolean): void;
  /** One sendto(2) on a UDP socket Node owns (a listener's reply): 0 or -errno. */
  sendTo(fd: number, datagram: Buffer, family: 4 | 6, address: string, port: number): number;
}

/**
 * native/listener_udp.c: a sandbox's UDP listener read with recvmmsg(2) and
 * answered with sendmmsg(2). listen(fd, maxDatagram, fn) takes the socket
 * over; fn hears each datagram (cut to maxDatagram bytes; a range of a shared
 * ArrayBuffer, native/slab.h) and each failed receive or reply the kernel refused;
 * send(handle, reply, peer) queues a reply for this turn of the event loop:
 * 0, -ENOBUFS when too many wait, -EBADF once closed, -EINVAL for a bad peer.
 */
export interface ListenerUdpModule {
  /**
   * fn(area, offset, length, peer): a datagram, area[offset, offset + length) of the shared receive area, valid only
   * until fn returns (the next read overwrites it); fn(undefined, errno): a failure.
   */
  listen(fd: number, maxDatagram: number, fn: (area: ArrayBuffer | undefined, offsetOrErrno: number, length: number, peer: number | string) => void): ListenerHandle;
  send(handle: ListenerHandle, reply: Buffer, peer: number | string): number;
  close(handle: ListenerHandle): void;
  /** [replies queued, replies refused (queue full), replies the kernel refused, datagrams received] */
  stats(handle: ListenerHandle): [number, number, number, number];
  /** Tests only: IP_RECVERR on `fd`, so an ICMP error raises EPOLLERR on it; 0 or -errno. */
  recvErrForTest?(fd: number): number;
}

/** An open native listener (opaque). */
export type ListenerHandle = { readonly __listener: unique symbol };

/**
 * native/netlink_send.c: rtnetlink sendmsg(2) on sender threads, one per adopted socket (a "lane"). adopt(portId,
 * hint?, nsPath?) → a lane over a private duplicate of the rtnetlink socket bound to that port in the namespace at
 * nsPath (absent: the calling thread's; descriptor `hint` tried first: lowestFreeFd() taken just before the socket
 * was made), or -errno; throws (code ENOTUNIQ) when two sockets match; send(lane, port, groups, data,
 * callback) queues one send (FIFO per lane) and calls back on the main thread with undefined or an Error (`code` the
 * errno name); release(lane) returns at once and the lane ends after the sends queued before it (its thread sends
 * them, closes its descriptor and is joined from a completion on the main thread); a lane id carries a generation,
 * so a released lane's id throws (code EBADF) instead of naming a later lane; pending() counts sends not yet called
 * back, over all lanes.
 */
export interface NetlinkSendModule {
  lowestFreeFd(): number;
  adopt(portId: number, hint?: number, nsPath?: string): number;
  send(lane: number, port: number, groups: number, data: Buffer | Buffer[], callback: (error?: Error) => void): void;
  release(lane: number): void;
  pending(): number;
}

const addons = new Map<string, unknown>();
/** The last load of an addon that failed for lack of file descriptors: not remembered as missing, tried again next time. */
const transientFailures = new Map<string, unknown>();

/** Find native/build/Release/<name>.node from here (source tree or dist/). */
function addonPath(name: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'native', 'build', 'Release', `${name}.node`);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

/** The addon native/build/Release/<name>.node, loaded once; undefined when it is not built, fails to load, or SANDNS_NO_NATIVE=1. */
function addon<T>(name: string): T | undefined {
  if (process.env.SANDNS_NO_NATIVE === '1') return undefined;
  if (!addons.has(name)) {
    const p = addonPath(name);
    let module: unknown = null;
    try {
      if (p !== undefined) module = createRequire(import.meta.url)(p);
    } catch (err) {
      // dlopen at the descriptor limit: this call goes without, the next one loads it (a missing build stays missing).
      if (fileLimitOf(err) !== undefined) {
        transientFailures.set(name, err);
        return undefined;
      }
      module = null;
    }
    transientFailures.delete(name);
    addons.set(name, module);
  }
  return (addons.get(name) ?? undefined) as T | undefined;
}

/**
 * Why the last load of addon `name` failed when that failure may pass (out of file descriptors), else undefined: a
 * caller with a weaker fallback for a missing build (an upstream socket not bound to its device) fails instead.
 */
export function addonLoadFailure(name: 'netns_socket' | 'upstream_udp' | 'listener_udp' | 'netlink_send'): unknown {
  return transientFailures.get(name);
}

/** The native helper, or undefined when it is not built or disabled. */
export function nativeHelper(): NativeHelper | undefined {
  return addon<NativeHelper>('netns_socket');
}

/** The native helper; throws ERR_NATIVE_HELPER_MISSING when it is not there. */
export function requireNativeHelper(): NativeHelper {
  const h = nativeHelper();
  if (h === undefined) throw new NativeHelperMissingError(transientFailures.get('netns_socket'));
  return h;
}

/** The native socketInNetns, or undefined when the helper is not built or disabled. */
export function nativeSocketInNetns(): SocketInNetns | undefined {
  return nativeHelper()?.socketInNetns;
}

/** The native trimDatagrams, or undefined when it is not built (or built before it existed) or disabled. */
export function nativeTrimDatagrams(): TrimDatagrams | undefined {
  return nativeHelper()?.trimDatagrams;
}

let upstreamUdp: UpstreamUdpModule | undefined;

/** native/upstream_udp.c, or undefined when it is not built or disabled (SANDNS_NO_NATIVE=1). */
export function nativeUpstreamUdp(): UpstreamUdpModule | undefined {
  // Asked once per upstream query: once loaded, no environment read or lookup (a getenv per call costs).
  return (upstreamUdp ??= addon<UpstreamUdpModule>('upstream_udp'));
}

/** native/netlink_send.c, or undefined when it is not built or disabled (SANDNS_NO_NATIVE=1). */
export function nativeNetlinkSend(): NetlinkSendModule | undefined {
  return addon<NetlinkSendModule>('netlink_send');
}

/**
 * native/listener_udp.c, or undefined when it is not built (a tree built
 * before it existed) or disabled (SANDNS_NO_NATIVE=1 or SANDNS_NO_BATCHED_UDP=1:
 * the listener falls back to dgram).
 */
export function nativeListenerUdp(): ListenerUdpModule | undefined {
  if (process.env.SANDNS_NO_BATCHED_UDP === '1') return undefined;
  return addon<ListenerUdpModule>('listener_udp');
}
