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
 * Makes sockets towards upstream servers. UDP sockets are long-lived and
 * shared by many queries (ID multiplexing); a TCP connection serves one query.
 */
export interface Dialer {
  /**
   * A UDP socket of `family` that can send to any server of `origin`: bound
   * (to an ephemeral port) or bound implicitly by its first send. The
   * resolver owns it from then on and closes it.
   */
  udpSocket(origin: UpstreamOrigin, family: Family): dgram.Socket | Promise<dgram.Socket>;
  /** A connected TCP socket to `address`:`port`; rejects on failure or when `signal` aborts. */
  tcpConnect(origin: UpstreamOrigin, address: string, port: number, signal: AbortSignal): Promise<net.Socket>;
}

// Large enough for bursts of replies; the kernel caps it at net.core.rmem_max.
const RECV_BUFFER_BYTES = 1 << 20;

/** The default Dialer: plain sockets in the controller's (host) namespace. */
export const hostDialer: Dialer = {
  udpSocket(_origin, family) {
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    return new Promise<dgram.Socket>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      sock.once('error', onError);
      sock.bind(0, () => {
        sock.off('error', onError);
        try {
          sock.setRecvBufferSize(RECV_BUFFER_BYTES);
        } catch {
          // Not fatal: the default buffer still works, it just drops sooner under bursts.
        }
        resolve(sock);
      });
    });
  },
  tcpConnect(_origin, address, port, signal) {
    return connectTcp(address, port, signal);
  },
};

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
