/**
 * Serves already-bound UDP and TCP handles (R1: the sandbox binds them inside
 * its namespace) with a handle function: UDP replies go back to the sender,
 * TCP connections are framed in tcp-connection.ts under the R14 limits.
 * Every socket gets an 'error' handler: nothing from the network reaches the
 * process (G8).
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { systemClock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { LiveList } from '../../common/live-list.js';
import { RateLimitedLog } from '../limits.js';
import type { TcpLimits } from '../options.js';
import type { HandleFn } from '../pipeline.js';
import { serveTcpConnection } from './tcp-connection.js';

/** Who sent a datagram, as a DatagramListener gives it (opaque: handed back to send). */
export type UdpPeer = number | string;

/**
 * A UDP listener that hands datagrams over in batches and sends the replies
 * of one event-loop turn together (sandbox/io/listener-udp.ts, over
 * recvmmsg/sendmmsg); the alternative to a dgram socket.
 */
export interface DatagramListener {
  readonly kind: 'batched';
  /**
   * From now on: onDatagram for each datagram, onError for a failed receive
   * or a reply the kernel refused. `bytes` may be a view of a receive area
   * that the next read reuses: valid only until onDatagram returns.
   */
  start(onDatagram: (bytes: Buffer, peer: UdpPeer) => void, onError: (err: Error) => void): void;
  /** Queue `reply` to `peer`; throws when it cannot be queued (too many waiting, or closed). */
  send(reply: Buffer, peer: UdpPeer): void;
  /** Stop reading, drop what waits, close the socket (idempotent). */
  close(): void;
}

/** The bound listener handles of one sandbox. */
export interface ServeHandles {
  /** A dgram socket, or a batched listener. */
  readonly udp: dgram.Socket | DatagramListener;
  readonly tcp: net.Server;
  /**
   * Optional faster way to send a UDP reply on `udp` (one sendto(2), without
   * dgram's per-send request and callback): `address` is the sender's IP
   * literal. Throws when the send fails. Default: `udp.send`.
   */
  readonly sendUdp?: ((reply: Buffer, port: number, address: string) => void) | undefined;
}

/** Options of serveSockets. */
export interface ServeOptions {
  readonly logger: Logger;
  readonly tcp: TcpLimits;
}

/** A running server over one sandbox's handles. */
export interface SocketServer {
  /** Open TCP connections. */
  readonly connections: number;
  /** Stop serving: close both handles and every open connection. */
  close(): Promise<void>;
}

/** Start answering on `handles` with `handle` until close(). */
export function serveSockets(handles: ServeHandles, handle: HandleFn, opts: ServeOptions): SocketServer {
  const { udp, tcp } = handles;
  const { logger } = opts;
  // Not a Set: one churned per connection keeps closed connections alive across scavenges (common/live-list.ts).
  const open = new LiveList<net.Socket>();
  let closed = false;

  const isClosed = (): boolean => closed;
  const onMessage = 'kind' in udp ? undefined : udpResponder(udp, handles.sendUdp, handle, logger, isClosed);
  const onConnection = (sock: net.Socket): void => {
    if (closed || open.size >= opts.tcp.maxConnections) {
      // R14: at most maxConnections per sandbox; the newcomer is refused.
      sock.on('error', () => undefined);
      sock.destroy();
      logger.debug({ open: open.size }, 'resolver: TCP connection limit reached, connection closed');
      return;
    }
    const node = open.add(sock);
    serveTcpConnection(sock, handle, opts.tcp, logger, () => open.remove(node));
  };
  if (onMessage === undefined) startBatched(udp as DatagramListener, handle, logger, isClosed);
  else {
    const sock = udp as dgram.Socket;
    sock.on('message', onMessage);
    sock.on('error', (err) => logger.warn({ err }, 'resolver: UDP socket error'));
  }
  tcp.on('connection', onConnection);
  tcp.on('error', (err) => logger.warn({ err }, 'resolver: TCP listener error'));

  return {
    get connections() {
      return open.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      tcp.off('connection', onConnection);
      const udpDone = onMessage === undefined ? closeBatched(udp as DatagramListener) : closeDgram(udp as dgram.Socket, onMessage);
      const tcpDone = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const sock of open.values()) sock.destroy();
      await Promise.all([udpDone, tcpDone]);
    },
  };
}

function closeDgram(udp: dgram.Socket, onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<void> {
  udp.off('message', onMessage);
  return new Promise<void>((resolve) => {
    try {
      udp.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function closeBatched(udp: DatagramListener): Promise<void> {
  udp.close();
  return Promise.resolve();
}

// Batched UDP: as udpResponder; a reply that cannot be queued is counted by the listener and logged here.
function startBatched(udp: DatagramListener, handle: HandleFn, logger: Logger, isClosed: () => boolean): void {
  let lastErr: unknown;
  const warn = new RateLimitedLog(systemClock, 2000, (suppressed) => logger.warn({ err: lastErr, suppressed }, 'resolver: UDP reply not sent'));
  const send = (reply: Buffer, peer: UdpPeer): void => {
    if (isClosed()) return;
    try {
      udp.send(reply, peer);
    } catch (err) {
      lastErr = err;
      warn.hit(); // R1: a full reply queue (or a closing socket) drops the reply: said, at most every 2 s
    }
  };
  const failed = (err: unknown): void => logger.warn({ err }, 'resolver: UDP query handler failed');
  udp.start(
    (msg, peer) => {
      const r = handle(msg, 'udp');
      if (r === undefined) return;
      if (r instanceof Uint8Array) send(r, peer);
      else r.then((reply) => reply !== undefined && send(reply, peer), failed);
    },
    (err) => {
      lastErr = err;
      warn.hit();
    },
  );
}

// UDP: each datagram is one query; the reply goes back to its sender.
function udpResponder(
  udp: dgram.Socket,
  sendUdp: ServeHandles['sendUdp'],
  handle: HandleFn,
  logger: Logger,
  isClosed: () => boolean,
): (msg: Buffer, rinfo: dgram.RemoteInfo) => void {
  const send = (reply: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (isClosed()) return;
    try {
      if (sendUdp !== undefined) sendUdp(reply, rinfo.port, rinfo.address);
      else udp.send(reply, rinfo.port, rinfo.address);
    } catch (err) {
      logger.debug({ err }, 'resolver: UDP send failed');
    }
  };
  return (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const r = handle(msg, 'udp');
    if (r === undefined) return;
    if (r instanceof Uint8Array) send(r, rinfo);
    else {
      r.then(
        (reply) => reply !== undefined && send(reply, rinfo),
        (err: unknown) => logger.warn({ err }, 'resolver: UDP query handler failed'),
      );
    }
  };
}
