/**
 * Where upstream sockets come from (R11): host-origin servers
 * are queried from the controller's own namespace, sandbox-origin servers
 * (the sandbox's `dns` overrides) from inside the sandbox's namespace. The
 * resolver only asks a Dialer; sandbox/ supplies the in-namespace one (G2).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { UpstreamOrigin } from '../view.js';

/** IP family of an upstream socket. */
export type Family = 4 | 6;

/**
 * Makes sockets towards upstream servers: one per exchange (RFC 5452 §9.1;
 * io/exchange.ts closes it when the exchange ends).
 */
export interface Dialer {
  /**
   * A UDP socket of `family` connect()ed (Node's `connect`) to
   * `address`:`port`, on a fresh ephemeral port chosen by the kernel; the
   * caller sends with `send(bytes)` and closes it.
   */
  udpConnect(origin: UpstreamOrigin, address: string, port: number, family: Family): dgram.Socket | Promise<dgram.Socket>;
  /** A connected TCP socket to `address`:`port`; rejects on failure or when `signal` aborts. */
  tcpConnect(origin: UpstreamOrigin, address: string, port: number, signal: AbortSignal): Promise<net.Socket>;
}

/**
 * The plain Dialer: sockets in the controller's (host) namespace. connect()
 * also binds the route's source address (Linux rehashes a connected UDP
 * socket on it), so an upstream on loopback is never reachable from a bridge
 * (RFC 1122 §3.2.1.3: 127/8 never arrives on another interface). sandbox/
 * supplies a stricter one that also binds the socket to its egress device.
 */
export const hostDialer: Dialer = {
  udpConnect(_origin, address, port, family) {
    return connectUdp(dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' }), address, port);
  },
  tcpConnect(_origin, address, port, signal) {
    return connectTcp(address, port, signal);
  },
};

/** Connect `sock` (unbound, or bound to an fd) to `address`:`port`; rejects (socket closed) on failure. */
export function connectUdp(sock: dgram.Socket, address: string, port: number): Promise<dgram.Socket> {
  return new Promise<dgram.Socket>((resolve, reject) => {
    const onError = (err: Error): void => {
      try {
        sock.close();
      } catch {
        // already closed
      }
      reject(err);
    };
    sock.once('error', onError);
    // Node passes a connect failure to the callback, not to 'error'.
    sock.connect(port, address, (err?: Error) => {
      sock.off('error', onError);
      if (err) onError(err);
      else resolve(sock);
    });
  });
}

/** Connect a TCP socket in the calling namespace; destroyed and rejected when `signal` aborts. */
export function connectTcp(address: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted before connecting'));
      return;
    }
    const sock = net.connect({ host: address, port });
    const onAbort = (): void => {
      sock.destroy();
      reject(new Error('connect aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      reject(err);
    });
    sock.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      sock.setNoDelay(true);
      resolve(sock);
    });
  });
}
