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

/** Local or remote end of an upstream socket. */
export interface SocketEnd {
  readonly address: string;
  readonly port: number;
}

/** What arrives on the socket of one UDP query (Dialer.udpQuery). */
export interface UdpSink {
  /** A datagram from the server: the socket is connect()ed, so the kernel already dropped every other source. */
  datagram(msg: Buffer): void;
  /** The socket failed (ECONNREFUSED after an ICMP port unreachable, ...); nothing more arrives. */
  error(err: Error): void;
}

/** The socket of one UDP query, open until close(). */
export interface UdpFlight {
  /** Its local and remote ends (getsockname/getpeername: for tests and diagnostics, not the hot path). */
  ends(): { readonly local: SocketEnd; readonly remote: SocketEnd };
  /** Close the socket; the sink hears nothing more. Idempotent. */
  close(): void;
}

/**
 * Makes sockets towards upstream servers: one per exchange (RFC 5452 §9.1;
 * io/exchange.ts closes it when the exchange ends).
 */
export interface Dialer {
  /**
   * Open a UDP socket of `family` on a fresh ephemeral port chosen by the
   * kernel (random in its range), connect() it to `address`:`port`, send
   * `query` on it and report what arrives to `sink` until the flight is
   * closed. Throws or rejects when the socket cannot be made, connected or
   * sent on.
   */
  udpQuery(origin: UpstreamOrigin, address: string, port: number, family: Family, query: Buffer, sink: UdpSink): UdpFlight | Promise<UdpFlight>;
  /** A connected TCP socket to `address`:`port`; rejects on failure or when `signal` aborts. */
  tcpConnect(origin: UpstreamOrigin, address: string, port: number, signal: AbortSignal): Promise<net.Socket>;
}

/**
 * The plain Dialer: Node sockets in the controller's (host) namespace.
 * connect() also binds the route's source address (Linux rehashes a
 * connected UDP socket on it), so an upstream on loopback is never reachable
 * from a bridge (RFC 1122 §3.2.1.3: 127/8 never arrives on another
 * interface). sandbox/ supplies a stricter and faster one (native: bound to
 * the egress device, a handful of system calls per query).
 */
export const hostDialer: Dialer = {
  udpQuery(_origin, address, port, family, query, sink) {
    return dgramQuery(dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' }), address, port, query, sink);
  },
  tcpConnect(_origin, address, port, signal) {
    return connectTcp(address, port, signal);
  },
};

/**
 * A UdpFlight over a Node socket (unbound, or bound to an fd): connect it to
 * `address`:`port`, send `query`, pass datagrams and errors to `sink`.
 * Rejects (socket closed) when the connect fails.
 */
export async function dgramQuery(sock: dgram.Socket, address: string, port: number, query: Buffer, sink: UdpSink): Promise<UdpFlight> {
  await connectUdp(sock, address, port);
  let closed = false;
  sock.on('message', (msg: Buffer) => {
    if (!closed) sink.datagram(msg);
  });
  sock.on('error', (err) => {
    if (!closed) sink.error(err);
  });
  sock.send(query, (err) => {
    if (err && !closed) sink.error(err);
  });
  return {
    ends: () => ({ local: sock.address(), remote: sock.remoteAddress() }),
    close() {
      if (closed) return;
      closed = true;
      sock.removeAllListeners('message');
      try {
        sock.close();
      } catch {
        // already closed
      }
    },
  };
}

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
