/**
 * The optional native helpers, built by `npm run build:native` (scripts/setup.sh
 * does it): native/netns_socket.c creates a socket inside another network
 * namespace in ~0.1 ms, without a child process; native/upstream_udp.c runs
 * upstream UDP queries on fresh connected sockets at a few system calls each
 * (FS1). When one is missing, or SANDNS_NO_NATIVE=1, callers fall back (an
 * nsenter child; Node's dgram sockets).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** socketInNetns(nsPath, family, type, address?, port?, listen?) -> fd. */
export type SocketInNetns = (nsPath: string, family: 4 | 6, type: 'udp' | 'tcp', address?: string, port?: number, listen?: boolean) => number;

/**
 * connectedUdp(nsPath, family, address, port, device) -> fd: a UDP socket
 * inside nsPath ('' = ours), bound to `device` ('' = none), connect()ed to
 * address:port unless port is 0 (Node then connects it itself).
 */
export type ConnectedUdp = (nsPath: string, family: 4 | 6, address: string, port: number, device: string) => number;

/** trimDatagrams(fd, maxPayload): the kernel cuts every datagram to maxPayload bytes (a BPF socket filter). */
export type TrimDatagrams = (fd: number, maxPayload: number) => void;

interface NativeModule {
  readonly socketInNetns: SocketInNetns;
  readonly connectedUdp?: ConnectedUdp;
  readonly trimDatagrams?: TrimDatagrams;
}

/**
 * native/upstream_udp.c: open() → id > 0 or -errno; close(id); setReceiver(fn)
 * where fn(id, datagram | undefined, errno) hears every datagram and socket
 * error; ends(id) → [localAddress, localPort, remoteAddress, remotePort].
 */
export interface UpstreamUdpModule {
  open(nsPath: string, family: 4 | 6, address: string, port: number, device: string, query: Buffer): number;
  close(id: number): void;
  setReceiver(fn: (id: number, datagram: Buffer | undefined, errno: number) => void): void;
  ends(id: number): [string, number, string, number] | undefined;
  pending(): number;
}

let loaded: NativeModule | null | undefined;
let loadedUpstream: UpstreamUdpModule | null | undefined;

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

function load<T>(name: string): T | null {
  const p = addonPath(name);
  if (p === undefined) return null;
  try {
    return createRequire(import.meta.url)(p) as T;
  } catch {
    return null;
  }
}

function nativeModule(): NativeModule | undefined {
  if (process.env.SANDNS_NO_NATIVE === '1') return undefined;
  if (loaded === undefined) loaded = load<NativeModule>('netns_socket');
  return loaded ?? undefined;
}

/** native/upstream_udp.c, or undefined when it is not built or disabled (SANDNS_NO_NATIVE=1). */
export function nativeUpstreamUdp(): UpstreamUdpModule | undefined {
  if (process.env.SANDNS_NO_NATIVE === '1') return undefined;
  if (loadedUpstream === undefined) loadedUpstream = load<UpstreamUdpModule>('upstream_udp');
  return loadedUpstream ?? undefined;
}

/** The native socketInNetns, or undefined when it is not built or disabled. */
export function nativeSocketInNetns(): SocketInNetns | undefined {
  return nativeModule()?.socketInNetns;
}

/** The native connectedUdp, or undefined when it is not built (or built before it existed) or disabled. */
export function nativeConnectedUdp(): ConnectedUdp | undefined {
  return nativeModule()?.connectedUdp;
}

/** The native trimDatagrams, or undefined when it is not built (or built before it existed) or disabled. */
export function nativeTrimDatagrams(): TrimDatagrams | undefined {
  return nativeModule()?.trimDatagrams;
}
