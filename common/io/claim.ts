/**
 * A claim that the kernel frees when its process ends, however it ends: a listening unix socket in Linux's abstract
 * namespace (unix(7): a name whose first byte is NUL). Binding a name is atomic, so of two processes claiming at once
 * exactly one gets it, and nothing stale is left on disk: a pid reused by another process is never mistaken for an
 * owner, and no dead owner's claim has to be taken over (the race a pid file cannot close without flock(2)).
 * Abstract names belong to a network namespace: a claim excludes only processes in the same one.
 *
 * The owner answers a connection with its pid, for the refusal's message; any local user can connect (abstract
 * sockets have no permissions), so a connection's errors are ignored and the release never waits for one.
 */
import { createConnection, createServer, type Socket } from 'node:net';

/** The pid the owner of `name` answers with, or 0 when it does not answer within a second. */
function ownerPid(name: string): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(name);
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
 * Claim the abstract name `name` (without its leading NUL; at most 107 bytes) in this process's network namespace;
 * returns the release (idempotent). When another process holds it, throws what `taken(pid)` returns (pid 0: the
 * owner did not say); any other listen error (EMFILE ...) is thrown as it is.
 */
export async function claimAbstractName(name: string, taken: (pid: number) => Error): Promise<() => Promise<void>> {
  const address = `\0${name}`;
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
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw taken(await ownerPid(address));
    throw err;
  });
  // An accept that fails (no descriptor left) leaves the claim listening; it must never end the process.
  server.on('error', () => undefined);
  server.unref(); // a claim never keeps a stopping process alive
  let released: Promise<void> | undefined;
  return () => (released ??= new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of open) s.destroy(); // close() waits for open connections: a peer that never leaves must not stall it
  }));
}
