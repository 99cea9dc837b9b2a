/**
 * One DNS-over-TCP connection (RFC 1035 §4.2.2, RFC 7766 §6.2): 2-byte length
 * framing by hand, several queries per connection, replies written as each is
 * ready (pipelining, RFC 7766 §6.2.1.1), and the R14 limits: idle timeout,
 * queries per connection, and bounded memory for a client that never reads.
 */
import { MAX_QUERY_SIZE } from '../constants.js';
import type { Socket } from 'node:net';
import type { Logger } from '../../common/log.js';
import type { TcpLimits } from '../options.js';
import type { HandleFn } from '../pipeline.js';

/**
 * Received bytes not yet framed, kept as the chunks that arrived: a message
 * split into many small chunks is joined once, when it is complete (linear,
 * never quadratic, whatever the client's write pattern).
 */
class ChunkQueue {
  #parts: Buffer[] = [];
  #head = 0;
  size = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#parts.push(chunk);
    this.size += chunk.length;
  }

  /** Remove and return the first `n` bytes (caller checks `size >= n`). */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0); // a zero-length frame (R2: dropped by acceptance, never a crash)
    this.size -= n;
    const first = this.#parts[0]!;
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) this.#drop(1);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    let head = this.#head;
    while (filled < n) {
      const part = this.#parts[used]!;
      const count = Math.min(part.length - head, n - filled);
      part.copy(out, filled, head, head + count);
      filled += count;
      head += count;
      if (head === part.length) {
        used++;
        head = 0;
      }
    }
    this.#drop(used);
    this.#head = head;
    return out;
  }

  #drop(count: number): void {
    if (count === 0) return;
    this.#parts.splice(0, count);
    this.#head = 0;
  }
}

/** Serve DNS on an accepted TCP socket until it closes; `onClose` runs once at the end. */
export function serveTcpConnection(sock: Socket, handle: HandleFn, limits: TcpLimits, logger: Logger, onClose: () => void): void {
  new TcpConnection(sock, handle, limits, logger, onClose);
}

class TcpConnection {
  readonly #sock: Socket;
  readonly #handle: HandleFn;
  readonly #limits: TcpLimits;
  readonly #logger: Logger;
  readonly #queue = new ChunkQueue();
  readonly #idle: NodeJS.Timeout;
  #need = -1; // length of the message being framed, -1 while reading its prefix
  #served = 0;
  #inFlight = 0;
  #blocked = false; // the socket's write buffer is over its high-water mark
  #finishing = false; // the query limit is reached: read no more

  constructor(sock: Socket, handle: HandleFn, limits: TcpLimits, logger: Logger, onClose: () => void) {
    this.#sock = sock;
    this.#handle = handle;
    this.#limits = limits;
    this.#logger = logger;
    // R14 idle timeout: refreshed only by a complete query or a written reply,
    // so a slow or stalled client (partial prefix, never reads) is cut off.
    this.#idle = setTimeout(() => sock.destroy(), limits.idleTimeoutMs);
    this.#idle.unref();
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    sock.on('drain', () => this.#onDrain());
    // Client half-close: answer what is in flight, then end (needs allowHalfOpen on the server).
    sock.on('end', () => {
      this.#finishing = true;
      this.#endIfDone();
    });
    sock.on('error', (err) => logger.debug({ err }, 'resolver: TCP connection error'));
    sock.on('close', () => {
      clearTimeout(this.#idle);
      onClose();
    });
  }

  #onData(chunk: Buffer): void {
    this.#queue.push(chunk);
    if (this.#need < 0 || this.#queue.size >= this.#need) this.#pump();
  }

  #onDrain(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#pump();
    if (!this.#blocked && !this.#finishing) this.#sock.resume();
  }

  // Frame and dispatch every complete message, unless back-pressured or done;
  // replies answered synchronously in one pass leave in one writev (cork).
  #pump(): void {
    const queue = this.#queue;
    this.#sock.cork();
    while (!this.#blocked && !this.#finishing && !this.#sock.destroyed) {
      if (this.#need < 0) {
        if (queue.size < 2) break;
        this.#need = queue.take(2).readUInt16BE(0);
        if (this.#need > MAX_QUERY_SIZE) {
          // FS5: a query this long would be REFUSED; it is not buffered: the connection ends after the replies owed.
          this.#finishing = true;
          this.#sock.pause();
          break;
        }
      }
      if (queue.size < this.#need) break;
      const msg = queue.take(this.#need);
      this.#need = -1;
      this.#idle.refresh();
      if (++this.#served >= this.#limits.maxQueriesPerConnection) {
        this.#finishing = true; // at most 128 queries per connection
        this.#sock.pause();
      }
      this.#dispatch(msg);
    }
    this.#sock.uncork();
    this.#endIfDone();
  }

  #dispatch(msg: Buffer): void {
    const r = this.#handle(msg, 'tcp');
    if (r === undefined) return;
    if (r instanceof Uint8Array) {
      this.#write(r);
      return;
    }
    this.#inFlight++;
    r.then(
      (reply) => {
        this.#inFlight--;
        if (reply !== undefined) this.#write(reply);
        this.#endIfDone();
      },
      (err: unknown) => {
        this.#inFlight--;
        this.#logger.warn({ err }, 'resolver: TCP query handler failed');
        this.#endIfDone();
      },
    );
  }

  // One write per reply (prefix + body); pause on back-pressure, destroy past the byte cap.
  #write(reply: Buffer): void {
    const sock = this.#sock;
    if (sock.destroyed || sock.writableEnded) return;
    const frame = Buffer.allocUnsafe(reply.length + 2);
    frame.writeUInt16BE(reply.length, 0);
    reply.copy(frame, 2);
    const ok = sock.write(frame);
    this.#idle.refresh();
    if (sock.writableLength > this.#limits.maxPendingBytes) {
      this.#logger.debug({ pending: sock.writableLength }, 'resolver: TCP client does not read its replies, closed');
      sock.destroy();
    } else if (!ok) {
      this.#blocked = true; // stop reading and framing until 'drain'
      sock.pause();
    }
  }

  #endIfDone(): void {
    if (this.#finishing && this.#inFlight === 0 && !this.#sock.destroyed) this.#sock.end();
  }
}
