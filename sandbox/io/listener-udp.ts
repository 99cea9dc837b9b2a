/**
 * A sandbox's UDP listener over the native helper (native/listener_udp.c):
 * datagrams are read with recvmmsg(2), up to 16 per system call, and handed
 * to the resolver inside one callback scope per wake-up; the replies of one
 * event-loop turn leave in one sendmmsg(2). A full socket buffer keeps the
 * replies queued until the socket is writable again; past the queue's bound
 * a reply is refused and the caller hears it (nothing is dropped silently).
 * A datagram's bytes are a view of the addon's shared receive area, valid
 * only while onDatagram runs: nothing is allocated per datagram, and the
 * receiver copies what it keeps (the resolver keeps the header and question).
 * Without the addon, bind.ts serves the socket with dgram instead.
 */
import { closeSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import type { DatagramListener, UdpPeer } from '../../resolver/index.js';
import { nativeListenerUdp, type ListenerHandle, type ListenerUdpModule } from '../../common/io/native.js';

/** A reply the listener could not take or the kernel refused (`errno` from the kernel). */
export class ListenerSendError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(what: string, errno: number) {
    let code: string;
    try {
      code = getSystemErrorName(-errno);
    } catch {
      code = `errno ${errno}`;
    }
    super(`${what}: ${code}`);
    this.name = 'ListenerSendError';
    this.code = code;
    this.errno = errno;
  }
}

class NativeListener implements DatagramListener {
  readonly kind = 'batched';
  #handle: ListenerHandle | undefined;
  #closed = false;

  constructor(
    private readonly mod: ListenerUdpModule,
    private readonly fd: number,
    private readonly maxDatagram: number,
  ) {}

  start(onDatagram: (bytes: Buffer, peer: UdpPeer) => void, onError: (err: Error) => void): void {
    if (this.#closed || this.#handle !== undefined) throw new Error('listener already started or closed');
    this.#handle = this.mod.listen(this.fd, this.maxDatagram, (area, offsetOrErrno, length, peer) => {
      try {
        if (area !== undefined) onDatagram(Buffer.from(area, offsetOrErrno, length), peer);
        else onError(new ListenerSendError('UDP listener', offsetOrErrno));
      } catch (err) {
        // A throw here would be the process's (an I/O callback's): one datagram's fault stays its own (G8).
        onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  send(reply: Buffer, peer: UdpPeer): void {
    if (this.#handle === undefined) throw new ListenerSendError('UDP reply', this.#closed ? 9 : 107);
    const rc = this.mod.send(this.#handle, reply, peer);
    if (rc < 0) throw new ListenerSendError('UDP reply', -rc);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#handle !== undefined) this.mod.close(this.#handle);
    else closeSync(this.fd);
  }

  /** Replies queued now, refused (queue full), refused by the kernel, datagrams received. */
  stats(): { queued: number; refused: number; sendErrors: number; received: number } {
    const [queued, refused, sendErrors, received] = this.#handle === undefined ? [0, 0, 0, 0] : this.mod.stats(this.#handle);
    return { queued, refused, sendErrors, received };
  }
}

/** True when the batched listener's addon is built (and not disabled). */
export function batchedUdpAvailable(): boolean {
  return nativeListenerUdp() !== undefined;
}

/** A batched listener over the bound UDP socket `fd` (which it then owns), or undefined without the addon. */
export function nativeDatagramListener(fd: number, maxDatagram: number): (DatagramListener & { stats: NativeListener['stats'] }) | undefined {
  const mod = nativeListenerUdp();
  return mod === undefined ? undefined : new NativeListener(mod, fd, maxDatagram);
}
