/**
 * Holds published host ports open (Docker's portmapper "bind and hold"): a
 * port another process already uses is refused before any rule is written,
 * and no other process can take it while it is published. Packets never
 * reach these sockets: DNAT sends them on to the container first.
 */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { fileLimitOf } from '../../../common/errors.js';
import type { Protocol } from '../types.js';

/** Why a bind failed. */
export type HoldFailure = 'in-use' | 'not-local' | 'other';

/** An open hold; close() releases it. */
export interface PortHold {
  close(): Promise<void>;
}

function bindOne(host: string, port: number, protocol: Protocol): Promise<PortHold> {
  const v6 = host.includes(':');
  return new Promise((resolve, reject) => {
    if (protocol === 'tcp') {
      const server: Server = createServer((c) => c.destroy());
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: v6, exclusive: true, backlog: 1 }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        server.unref();
        resolve({ close: () => new Promise((r) => server.close(() => r())) });
      });
    } else {
      const sock: Socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
      sock.once('error', reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', () => undefined);
        sock.on('message', () => undefined);
        sock.unref();
        resolve({ close: () => new Promise((r) => sock.close(() => r())) });
      });
    }
  });
}

function failure(err: unknown): HoldFailure {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES') return 'in-use';
  if (code === 'EADDRNOTAVAIL') return 'not-local';
  return 'other';
}

/**
 * Bind the port on `hostIp` (undefined: 0.0.0.0 and ::). An IPv6 wildcard that cannot bind because the host has
 * no IPv6 is skipped. Resolves with the hold or the reason it failed; throws the bind's error when the daemon is out of
 * file descriptors (EMFILE, ENFILE).
 */
export async function holdPort(hostIp: string | undefined, port: number, protocol: Protocol): Promise<PortHold | HoldFailure> {
  const hosts = hostIp === undefined ? ['0.0.0.0', '::'] : [hostIp];
  const held: PortHold[] = [];
  for (const host of hosts) {
    try {
      held.push(await bindOne(host, port, protocol));
    } catch (err) {
      // Out of descriptors is the daemon's state, not the port's: thrown (the API's 503 ERR_HOST_LIMIT), never "in use".
      if (fileLimitOf(err) !== undefined) {
        await Promise.all(held.map((h) => h.close()));
        throw err;
      }
      const why = failure(err);
      if (hostIp === undefined && host === '::' && why !== 'in-use') continue;
      await Promise.all(held.map((h) => h.close()));
      return why;
    }
  }
  return { close: async () => void (await Promise.all(held.map((h) => h.close()))) };
}
