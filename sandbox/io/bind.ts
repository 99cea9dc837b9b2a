/**
 * Opens UDP and TCP 127.0.0.11:53 *inside* a namespace and hands the bound
 * handles to this process (R1). A short-lived child started with
 * `nsenter --net=<path>` creates the sockets and sends them over Node's IPC
 * channel, then exits; the sockets keep their namespace. What makes this
 * work: `lo` is up first (done by the caller: a socket bound while it is down
 * answers from 127.0.0.1); the sockets are bound with `exclusive: true` (a
 * shared cluster handle would be re-created in our namespace); the child's
 * NODE_UNIQUE_ID is stripped (so Node does not treat it as a cluster worker);
 * its errors come back as messages; the 'message' listener is attached at
 * spawn, before the child can send.
 *
 * When the native helper is built (sandbox/io/native.ts), the sockets are
 * created in-process instead, in ~0.1 ms: acquireSandboxSockets() is the one
 * seam for both.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { SocketAcquireError } from '../errors.js';
import { MAX_QUERY_SIZE } from '../../resolver/index.js';
import { nativeSocketInNetns, nativeTrimDatagrams } from './native.js';

/** The bound listener handles of one sandbox. */
export interface SandboxSockets {
  readonly udp: dgram.Socket;
  readonly tcp: net.Server;
}

/** Options for acquireSandboxSockets. */
export interface AcquireOptions {
  /** Listen address; default 127.0.0.11. */
  address?: string;
  /** Listen port; default 53. */
  port?: number;
  /** Give up after this many ms; default 10 s. */
  timeoutMs?: number;
}

// The child: CommonJS through `node -e` (no file to ship; starts faster than ESM).
const CHILD = `
const dgram = require('node:dgram'), net = require('node:net');
const addr = process.env.SANDNS_ADDR, port = Number(process.env.SANDNS_PORT);
const fail = (e) => process.send({ tag: 'error', code: e.code, message: e.message }, () => process.exit(1));
const udp = dgram.createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4' });
udp.once('error', fail);
udp.bind({ address: addr, port, exclusive: true }, () => {
  const tcp = net.createServer();
  tcp.once('error', fail);
  tcp.listen({ host: addr, port, exclusive: true, backlog: 511 }, () => {
    process.send({ tag: 'udp' }, udp, () => process.send({ tag: 'tcp' }, tcp));
  });
});
process.once('message', () => process.exit(0));
setTimeout(() => process.exit(2), 15000).unref();
`;

/** Create UDP+TCP listeners inside the namespace at `nsPath` and return their handles. */
export function acquireSandboxSockets(nsPath: string, options: AcquireOptions = {}): Promise<SandboxSockets> {
  const native = nativeSocketInNetns();
  return native === undefined ? acquireWithChild(nsPath, options) : acquireWithNative(native, nsPath, options);
}

/** In-process: the native helper creates bound sockets inside the namespace; Node wraps the fds. */
async function acquireWithNative(
  socketInNetns: NonNullable<ReturnType<typeof nativeSocketInNetns>>,
  nsPath: string,
  options: AcquireOptions,
): Promise<SandboxSockets> {
  const address = options.address ?? '127.0.0.11';
  const port = options.port ?? 53;
  const family = address.includes(':') ? 6 : 4;
  let udpFd: number;
  let tcpFd: number;
  try {
    udpFd = socketInNetns(nsPath, family, 'udp', address, port);
  } catch (err) {
    throw new SocketAcquireError(nsPath, (err as Error).message, err);
  }
  try {
    // FS5: an oversized query reaches us cut to one byte over the limit (still REFUSED), not as 64 KiB.
    nativeTrimDatagrams()?.(udpFd, MAX_QUERY_SIZE + 1);
  } catch {
    // Not fatal: oversized queries are still refused, only at the cost of reading them whole.
  }
  try {
    tcpFd = socketInNetns(nsPath, family, 'tcp', address, port, true);
  } catch (err) {
    const udp = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    udp.bind({ fd: udpFd }, () => udp.close());
    throw new SocketAcquireError(nsPath, (err as Error).message, err);
  }
  // Replies go to the sender's address, always an IP literal: resolving it is an identity, done at once
  // (dgram's default lookup costs a dns.lookup call and a tick per reply).
  const udp = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
  await new Promise<void>((resolve) => udp.bind({ fd: udpFd }, resolve));
  const tcp = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => tcp.listen({ fd: tcpFd }, resolve));
  return { udp, tcp };
}

// dgram's lookup hook for a socket that only ever sends to IP literals (the senders of queries).
// dgram passes the socket's family as a number (the typings say an options object).
function literalLookup(address: string, family: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, typeof family === 'number' ? family : address.includes(':') ? 6 : 4);
}

/** With a child: `nsenter --net=<path> node -e CHILD` binds and passes the handles over IPC. */
function acquireWithChild(nsPath: string, options: AcquireOptions): Promise<SandboxSockets> {
  const address = options.address ?? '127.0.0.11';
  const port = options.port ?? 53;
  const env: NodeJS.ProcessEnv = { ...process.env, SANDNS_ADDR: address, SANDNS_PORT: String(port) };
  delete env.NODE_UNIQUE_ID;
  delete env.NODE_OPTIONS;
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', process.execPath, '-e', CHILD], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env,
  });
  return new Promise<SandboxSockets>((resolve, reject) => {
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    let stderr = '';
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) {
        udp?.close();
        tcp?.close();
        child.kill('SIGKILL');
        reject(err);
      } else {
        child.send('done');
        resolve({ udp: udp!, tcp: tcp! });
      }
    };
    const timer = setTimeout(
      () => finish(new SocketAcquireError(nsPath, `timed out after ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('message', (msg: { tag: string; code?: string; message?: string }, handle: unknown) => {
      if (msg.tag === 'udp') udp = handle as dgram.Socket;
      else if (msg.tag === 'tcp') {
        tcp = handle as net.Server;
        // The parent's wrapper is a default net.Server: let a client half-close and still get its replies.
        (tcp as net.Server & { allowHalfOpen: boolean }).allowHalfOpen = true;
      }
      else if (msg.tag === 'error') finish(new SocketAcquireError(nsPath, `${msg.code ?? 'error'}: ${msg.message ?? ''}`));
      if (udp !== undefined && tcp !== undefined) finish();
    });
    child.on('error', (err) => finish(new SocketAcquireError(nsPath, err.message, err)));
    child.on('exit', (code) => {
      if (!settled) finish(new SocketAcquireError(nsPath, `helper exited with code ${code}: ${stderr.trim()}`));
    });
  });
}
