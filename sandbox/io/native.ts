/**
 * The optional native helper (native/netns_socket.c): creates a socket inside
 * another network namespace in ~0.1 ms, without a child process. Built by
 * `npm run build:native` (scripts/setup.sh does it); when it is missing, or
 * SANDNS_NO_NATIVE=1, callers fall back to an nsenter child.
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

let loaded: NativeModule | null | undefined;

/** Find native/build/Release/netns_socket.node from here (source tree or dist/). */
function addonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'native', 'build', 'Release', 'netns_socket.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

function nativeModule(): NativeModule | undefined {
  if (process.env.SANDNS_NO_NATIVE === '1') return undefined;
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  const p = addonPath();
  if (p === undefined) return undefined;
  try {
    loaded = createRequire(import.meta.url)(p) as NativeModule;
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
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
