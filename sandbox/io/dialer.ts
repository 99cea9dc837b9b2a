/**
 * The upstream Dialers sandboxes use (R11, FS1). In-namespace: servers given
 * per sandbox (`dns`) are queried from inside the sandbox's namespace, so a
 * DNS server on a container-only network is reachable; without the native
 * helper there is no in-process way in, and the query fails over to the next
 * server with a typed error, rather than leaving from the wrong namespace.
 * Host side: sockets bound to their egress device. UDP queries go through
 * the native query helper (sandbox/io/upstream-udp.ts); TCP sockets are made
 * by the namespace helper and wrapped by Node.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { connectUdp, hostDialer, type Dialer, type Family, type UdpFlight, type UdpSink } from '../../resolver/index.js';
import { SandnsError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { addonLoadFailure, nativeSocketInNetns } from '../../common/io/native.js';
import { nativeUdpQuery, type NativeUdpQuery } from './upstream-udp.js';

/** No way to open a socket inside the sandbox's namespace. */
export class NoNetnsDialerError extends SandnsError {
  /** `cause`: the load failure when it may pass (out of file descriptors), not a missing build. */
  constructor(nsPath: string, cause?: unknown) {
    super(
      'ERR_SANDBOX_NO_NETNS_DIALER',
      `cannot query a sandbox-origin server from inside ${nsPath}: the native helper is not built (run "npm run build:native")`,
      500,
      { details: { netns: nsPath }, ...(cause === undefined ? {} : { cause }) },
    );
    this.name = 'NoNetnsDialerError';
  }
}

/** A Dialer whose sockets live in the namespace at `nsPath`. */
export function netnsDialer(nsPath: string): Dialer {
  return {
    udpQuery(_origin, address, port, family, query, sink) {
      const open = nativeUdpQuery();
      if (open === undefined) throw new NoNetnsDialerError(nsPath, addonLoadFailure('upstream_udp'));
      return open(nsPath, '', family, address, port, query, sink);
    },
    tcpConnect(_origin, address, port, signal) {
      const open = nativeSocketInNetns();
      if (open === undefined) return Promise.reject(new NoNetnsDialerError(nsPath, addonLoadFailure('netns_socket')));
      const fd = open(nsPath, address.includes(':') ? 6 : 4, 'tcp');
      const sock = new net.Socket({ fd, readable: true, writable: true });
      return new Promise<net.Socket>((resolve, reject) => {
        const onAbort = (): void => {
          sock.destroy();
          reject(new Error('connect aborted'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        sock.once('error', (err) => {
          signal.removeEventListener('abort', onAbort);
          sock.destroy();
          reject(err);
        });
        sock.connect(port, address, () => {
          signal.removeEventListener('abort', onAbort);
          sock.setNoDelay(true);
          resolve(sock);
        });
      });
    },
  };
}

// How long an upstream's egress device is trusted before it is looked up again (routes change rarely).
const DEVICE_TTL_MS = 30_000;

/**
 * The host-side Dialer sandboxes use (FS1; RFC 5452 §9.1): each UDP socket is connect()ed (fresh random port, the
 * route's source address) and bound to the device the route to the server
 * leaves by (SO_BINDTODEVICE). A sandbox reaches the host through its
 * bridge, and Linux accepts a datagram for any host address on any
 * interface (the weak host model, RFC 1122 §3.3.4.2), so binding the address
 * alone would let a forged reply from a sandbox in; bound to the egress
 * device, the socket never sees a datagram arriving on a bridge. Without the
 * native helper it falls back to the plain connected socket (warned once).
 */
export function hardenedHostDialer(logger: Logger): Dialer {
  const devices = new Map<string, { device: string; at: number }>();
  let warned = false;
  const lookUp = async (address: string, family: Family): Promise<string> => {
    const device = await egressDevice(address, family).catch(() => '');
    if (devices.size >= 1024) devices.clear();
    devices.set(address, { device, at: Date.now() });
    return device;
  };
  const opened = (open: NativeUdpQuery, device: string, family: Family, address: string, port: number, query: Buffer, sink: UdpSink): UdpFlight => {
    try {
      return open('', device, family, address, port, query, sink);
    } catch (err) {
      devices.delete(address); // the route may have moved: look it up again next time
      throw err;
    }
  };
  return {
    udpQuery(origin, address, port, family, query, sink) {
      const open = nativeUdpQuery();
      // A load that failed for lack of descriptors fails this query (the next one loads it): never the weaker fallback.
      const transient = open === undefined ? addonLoadFailure('upstream_udp') : undefined;
      if (transient !== undefined) throw transient;
      if (open === undefined) {
        if (!warned) logger.warn('resolver: native helper missing, upstream sockets are not bound to their egress device (npm run build:native)');
        warned = true;
        return hostDialer.udpQuery(origin, address, port, family, query, sink);
      }
      const known = devices.get(address);
      if (known !== undefined && Date.now() - known.at < DEVICE_TTL_MS) return opened(open, known.device, family, address, port, query, sink);
      return lookUp(address, family).then((device) => opened(open, device, family, address, port, query, sink));
    },
    tcpConnect: hostDialer.tcpConnect,
  };
}

/** The interface whose address the kernel picks as source towards `address` ('' when none matches). */
export async function egressDevice(address: string, family: Family): Promise<string> {
  const probe = await connectUdp(dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' }), address, 53);
  let local: string;
  try {
    local = probe.address().address;
  } finally {
    probe.close();
  }
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs?.some((a) => a.address === local)) return name;
  }
  return '';
}
