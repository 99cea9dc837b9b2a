/**
 * Opens UDP and TCP 127.0.0.11:53 *inside* a namespace and hands the bound
 * handles to this process (R1): the native helper switches the thread into
 * the namespace, creates and binds the sockets there (~0.1 ms) and switches
 * back; Node wraps the descriptors. The sockets keep their namespace
 * (socket(7)). `lo` must be up first (done by the caller): a socket bound
 * while it is down answers from 127.0.0.1 and connected clients drop the reply.
 */
import dgram from 'node:dgram';
import { closeSync, fstatSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { ListenerInUseError, SocketAcquireError } from '../errors.js';
import { nativeTrimDatagrams, nativeUpstreamUdp, requireNativeHelper, type NativeHelper } from '../../common/io/native.js';
import { MAX_QUERY_SIZE, type DatagramListener } from '../../resolver/index.js';
import { nativeDatagramListener } from './listener-udp.js';

/** The bound listener handles of one sandbox. */
export interface SandboxSockets {
  /** The native batched listener (recvmmsg/sendmmsg), or a dgram socket without the addon. */
  readonly udp: dgram.Socket | DatagramListener;
  readonly tcp: net.Server;
  /** dgram only: replies on `udp` by one native sendto(2) (undefined without the upstream addon: dgram's send). */
  readonly sendUdp?: ((reply: Buffer, port: number, address: string) => void) | undefined;
}

/** Options for acquireSandboxSockets. */
export interface AcquireOptions {
  /** Listen address; default 127.0.0.11. */
  address?: string;
  /** Listen port; default 53. */
  port?: number;
}

/** Create UDP+TCP listeners inside the namespace at `nsPath` and return their handles. */
export function acquireSandboxSockets(nsPath: string, options: AcquireOptions = {}): Promise<SandboxSockets> {
  return acquireWithNative(requireNativeHelper().listenersInNetns, nsPath, options);
}

/** In-process: the native helper creates both bound sockets inside the namespace (one switch in, one back); Node wraps the fds. */
async function acquireWithNative(
  listenersInNetns: NativeHelper['listenersInNetns'],
  nsPath: string,
  options: AcquireOptions,
): Promise<SandboxSockets> {
  const address = options.address ?? '127.0.0.11';
  const port = options.port ?? 53;
  const family = address.includes(':') ? 6 : 4;
  let udpFd: number;
  let tcpFd: number;
  try {
    [udpFd, tcpFd] = listenersInNetns(nsPath, family, address, port);
  } catch (err) {
    const e = err as { errno?: unknown; code?: unknown; message?: unknown };
    // EADDRINUSE (98): the port is someone else's in that namespace, the user's to free (409), not our fault.
    if (e?.errno === 98 || e?.code === 'EADDRINUSE') throw new ListenerInUseError(nsPath, err);
    throw new SocketAcquireError(nsPath, String(e?.message ?? err), err);
  }
  try {
    // FS5: an oversized query reaches us cut to one byte over the limit (still REFUSED), not as 64 KiB.
    nativeTrimDatagrams()?.(udpFd, MAX_QUERY_SIZE + 1);
  } catch {
    // Not fatal: oversized queries are still refused, only at the cost of reading them whole.
  }
  const tcp = net.createServer({ allowHalfOpen: true });
  await listenOnFd(tcp, tcpFd).catch((err: unknown) => {
    closeSync(udpFd);
    throw new SocketAcquireError(nsPath, `tcp listen: ${String((err as { message?: unknown })?.message ?? err)}`, err);
  });
  // Batched (recvmmsg/sendmmsg) where the addon is built; datagrams are cut to one byte over the limit, as the filter does.
  const batched = nativeDatagramListener(udpFd, MAX_QUERY_SIZE + 1);
  if (batched !== undefined) return { udp: batched, tcp };
  // Replies go to the sender's address, always an IP literal: resolving it is an identity, done at once
  // (dgram's default lookup costs a dns.lookup call and a tick per reply).
  const udp = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
  try {
    // bind({ fd }) wraps the descriptor at once and throws when it cannot (ERR_INVALID_FD_TYPE, or the open's
    // errno), having taken nothing; 'listening' follows on a later tick.
    const listening = new Promise<void>((resolve) => udp.once('listening', resolve));
    udp.bind({ fd: udpFd });
    await listening;
  } catch (err) {
    closeSync(udpFd);
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    throw new SocketAcquireError(nsPath, `udp bind: ${String((err as { message?: unknown })?.message ?? err)}`, err);
  }
  return { udp, tcp, sendUdp: nativeSender(udp, udpFd) };
}

/**
 * `server` listening on the bound, listening TCP socket `fd` (which it then owns). Rejects with Node's 'error' when
 * it cannot: then `fd` is closed too, whether or not Node had taken it (Node closes a descriptor whose handle it
 * made before the failure, and leaves alone one it could not wrap; the socket's inode tells which: a number
 * closed by Node may already name another descriptor).
 */
function listenOnFd(server: net.Server, fd: number): Promise<void> {
  const inode = fstatSync(fd).ino;
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      try {
        if (fstatSync(fd).ino === inode) closeSync(fd);
      } catch {
        // already closed by Node
      }
      reject(err);
    };
    server.once('error', fail);
    server.listen({ fd }, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

const EAGAIN = osConstants.errno.EAGAIN;

/**
 * A reply sender over the listener's own fd (one sendto(2) per reply), or
 * undefined without the addon. Once the socket closes it sends nothing: the
 * fd number may belong to another socket by then.
 */
function nativeSender(udp: dgram.Socket, fd: number): SandboxSockets['sendUdp'] {
  const sendTo = nativeUpstreamUdp()?.sendTo;
  if (sendTo === undefined) return undefined;
  let open = true;
  udp.once('close', () => (open = false));
  return (reply, port, address) => {
    if (!open) throw new Error('listener closed');
    const rc = sendTo(fd, reply, address.includes(':') ? 6 : 4, address, port);
    // A full send buffer: dgram queues the reply until the socket is writable again instead of dropping it.
    if (rc === -EAGAIN) udp.send(reply, port, address);
    else if (rc < 0) throw new Error(`sendto ${address}:${port}: errno ${-rc}`);
  };
}

// dgram's lookup hook for a socket that only ever sends to IP literals (the senders of queries).
// dgram passes the socket's family as a number (the typings say an options object).
function literalLookup(address: string, family: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, typeof family === 'number' ? family : address.includes(':') ? 6 : 4);
}
