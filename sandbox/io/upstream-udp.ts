/**
 * Upstream UDP queries through the native helper (native/upstream_udp.c,
 * FS1, RFC 5452 §9.1): each query gets a socket inside the given namespace,
 * bound to the given device, connect()ed to the server on a fresh random
 * ephemeral port (the kernel then delivers only the server's datagrams to
 * that port) and sent on in one call; its datagrams come back through one
 * receiver for all sockets, dispatched here by use id to the query's sink.
 * Socket objects are recycled after a disconnect (a new port each use, the
 * old use's queue and error emptied, datagrams for an old port dropped), so
 * a query costs no socket(2)/close(2) and, inside a namespace, no setns(2).
 */
import { getSystemErrorName } from 'node:util';
import type { Family, SocketEnd, UdpFlight, UdpSink } from '../../resolver/index.js';
import { nativeUpstreamUdp, type UpstreamUdpModule } from '../../common/io/native.js';

/** A socket the native helper could not make, connect or send on (`errno` from the kernel). */
export class UpstreamSocketError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(what: string, errno: number) {
    const code = systemErrorName(errno);
    super(`${what}: ${code}`);
    this.name = 'UpstreamSocketError';
    this.code = code;
    this.errno = errno;
  }
}

function systemErrorName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/*
 * The sinks of the uses in flight, by fd (an id's low 20 bits, native make_id), in two arrays rather than a Map: a
 * Map churned once per query keeps the sinks it held (and through them each query's promises, closures and buffers)
 * alive across scavenges after each rehash (why: common/live-list.ts). An array slot is overwritten in place, so
 * nothing stale is left to scan.
 */
const FD_SPAN = 2 ** 20;
const sinkIds: number[] = [];
const sinkOf: (UdpSink | undefined)[] = [];
let mod: UpstreamUdpModule | undefined;

function sinkGet(id: number): UdpSink | undefined {
  const fd = id % FD_SPAN;
  return sinkIds[fd] === id ? sinkOf[fd] : undefined;
}

function sinkSet(id: number, sink: UdpSink): void {
  const fd = id % FD_SPAN;
  // Append when possible, so the arrays stay dense (fds are small and reused).
  while (sinkIds.length < fd) {
    sinkIds.push(-1);
    sinkOf.push(undefined);
  }
  sinkIds[fd] = id;
  sinkOf[fd] = sink;
}

/** Forget the use `id`'s sink; false when it had none (ended already). */
function sinkDelete(id: number): boolean {
  const fd = id % FD_SPAN;
  if (sinkIds[fd] !== id) return false;
  sinkIds[fd] = -1;
  sinkOf[fd] = undefined;
  return true;
}

/**
 * Every datagram (bytes slab[offset, offset + length)) and socket error (slab undefined, offset = errno) arrives
 * here, from the addon's libuv callback: a throw would be the process's (napi_fatal_exception), so a sink that
 * throws ends its own flight instead (closed, told through error() once; a second throw there is dropped).
 */
function receive(id: number, slab: ArrayBuffer | undefined, offsetOrErrno: number, length: number): void {
  const sink = sinkGet(id);
  if (sink === undefined) return;
  try {
    if (slab !== undefined) {
      sink.datagram(Buffer.from(slab, offsetOrErrno, length));
      return;
    }
    end(id);
    sink.error(new UpstreamSocketError('upstream socket', offsetOrErrno));
  } catch (err) {
    if (!end(id)) return; // error() itself threw: the flight is already over
    try {
      sink.error(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // nothing is left to tell
    }
  }
}

/** End the use `id` (its socket recycled); false when it had ended already. */
function end(id: number): boolean {
  if (!sinkDelete(id)) return false;
  mod!.close(id);
  return true;
}

class NativeFlight implements UdpFlight {
  constructor(private readonly id: number) {}

  ends(): { local: SocketEnd; remote: SocketEnd } {
    const e = mod!.ends(this.id);
    if (e === undefined) throw new Error('upstream socket closed');
    return { local: { address: e[0], port: e[1] }, remote: { address: e[2], port: e[3] } };
  }

  close(): void {
    if (sinkDelete(this.id)) mod!.close(this.id);
  }
}

/** Opens native query sockets; undefined when the helper is not built (or SANDNS_NO_NATIVE=1). */
export type NativeUdpQuery = (nsPath: string, device: string, family: Family, address: string, port: number, query: Buffer, sink: UdpSink) => UdpFlight;

/**
 * The native query opener: a socket inside `nsPath` ('' = ours), bound to
 * `device` ('' = none), connected to `address`:`port`, `query` sent; throws
 * UpstreamSocketError when any step fails (nothing is left open).
 */
export function nativeUdpQuery(): NativeUdpQuery | undefined {
  const m = nativeUpstreamUdp();
  if (m === undefined) return undefined;
  if (mod === undefined) {
    mod = m;
    m.setReceiver(receive);
  }
  return openQuery;
}

function openQuery(nsPath: string, device: string, family: Family, address: string, port: number, query: Buffer, sink: UdpSink): UdpFlight {
  const id = mod!.open(nsPath, family, address, port, device, query);
  if (id < 0) throw new UpstreamSocketError(`upstream socket to ${address}:${port}`, -id);
  sinkSet(id, sink);
  return new NativeFlight(id);
}

/** Query sockets in use now (tests: every exchange closes its own). */
export function openUpstreamSockets(): number {
  return mod?.pending() ?? 0;
}

/** Idle query sockets kept for reuse (≤ 64 per namespace, family and device; ≤ 1,024 in all). */
export function idleUpstreamSockets(): number {
  return mod?.idle() ?? 0;
}

/**
 * Close the idle query sockets made inside the namespace at `nsPath` (an idle
 * socket holds its namespace alive); call when a sandbox lets go of its
 * namespace, after its resolver is closed. Returns how many were closed.
 */
export function releaseNetnsSockets(nsPath: string): number {
  if (nsPath === '') return 0;
  return mod?.flush(nsPath) ?? 0;
}
