/**
 * The in-namespace upstream Dialer (R11): servers given per
 * sandbox (`dns`) are queried from inside the sandbox's namespace, so a DNS
 * server on a container-only network is reachable. Sockets are created in
 * the namespace by the native helper and wrapped by Node. Without the helper
 * there is no in-process way in, and the query fails over to the next server
 * with a typed error (logged once), rather than leaving from the wrong namespace.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Dialer } from '../../resolver/index.js';
import { SandnsError } from '../../common/errors.js';
import { nativeSocketInNetns } from './native.js';

/** No way to open a socket inside the sandbox's namespace. */
export class NoNetnsDialerError extends SandnsError {
  constructor(nsPath: string) {
    super(
      'ERR_SANDBOX_NO_NETNS_DIALER',
      `cannot query a sandbox-origin server from inside ${nsPath}: the native helper is not built (run "npm run build:native")`,
      500,
      { details: { netns: nsPath } },
    );
    this.name = 'NoNetnsDialerError';
  }
}

/** A Dialer whose sockets live in the namespace at `nsPath`. */
export function netnsDialer(nsPath: string): Dialer {
  return {
    udpSocket(_origin, family) {
      const open = nativeSocketInNetns();
      if (open === undefined) throw new NoNetnsDialerError(nsPath);
      const fd = open(nsPath, family, 'udp');
      const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      return new Promise<dgram.Socket>((resolve) => sock.bind({ fd }, () => resolve(sock)));
    },
    tcpConnect(_origin, address, port, signal) {
      const open = nativeSocketInNetns();
      if (open === undefined) return Promise.reject(new NoNetnsDialerError(nsPath));
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
