/**
 * One daemon per network namespace owns the firewall: its nftables table
 * (`inet sandns`) is rebuilt whole from that daemon's networks, so a second
 * daemon in the same namespace (another --state-dir) would wipe the first's
 * published ports, egress and isolation at its first network create, and the
 * last network delete of either would drop the table for both. The claim is
 * a listening unix socket in the abstract namespace (`@sandns-firewall`):
 * abstract names belong to a network namespace, and the kernel frees one
 * when its process ends, however it ends, so nothing stale is left on disk
 * and a pid reused by another process is never mistaken for an owner. The
 * owner answers a connection with its pid, for the refusal's message; any
 * local user can connect (abstract sockets have no permissions), so a
 * connection's errors are ignored and the release never waits for one.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { FirewallInUseError } from '../errors.js';

/** The claim's name (a leading NUL: Linux's abstract socket namespace, per network namespace). */
const NAME = '\0sandns-firewall';

/** The pid the owner answers with, or 0 when it does not answer within a second. */
function ownerPid(): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(NAME);
    const done = (): void => {
      socket.destroy();
      resolve(Number.parseInt(text, 10) || 0);
    };
    socket.setTimeout(1_000, done);
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', done);
    socket.on('error', done);
  });
}

/**
 * Claim the firewall of this process's network namespace; returns the release. Throws ERR_FIREWALL_IN_USE (409)
 * naming the owner when another process holds it.
 */
export async function claimFirewall(): Promise<() => Promise<void>> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('error', () => socket.destroy()); // a peer gone before the answer (EPIPE, ECONNRESET): nothing to do
    socket.on('close', () => open.delete(socket));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.end(`${process.pid}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(NAME, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new FirewallInUseError(await ownerPid());
    throw err;
  });
  // An accept that fails (no descriptor left) leaves the claim listening; it must never end the daemon.
  server.on('error', () => undefined);
  server.unref(); // the claim never keeps a stopping daemon alive
  return () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of open) s.destroy(); // close() waits for open connections: a peer that never leaves must not stall it
  });
}
