/**
 * The real Exchanger (R10–R12): UDP through one long-lived socket per origin
 * and family, multiplexed by random query ID (aardvark 1.4 builds a client per
 * query and tops out at 6.5k QPS forwarded); TCP through one connection per
 * query, as Docker does. Sockets come from the origin's Dialer (R11).
 *
 * RFC 5452 §9.1: a UDP reply counts only when it comes from the server's
 * address and port and carries our ID and question; anything else is ignored
 * until the deadline. The UDP socket is replaced after `rotateAfter` queries
 * so its source port does not stay fixed for long (§4.5); the old one closes
 * once its last query ends. Oversized non-EDNS replies are received whole
 * (libuv reads datagrams into 64 KiB; Docker TestOversizedDNSReply).
 */
import { randomFillSync } from 'node:crypto';
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { matchesQuestion, type ExchangeResult, type Exchanger } from '../forward.js';
import type { Query } from '../query.js';
import type { UpstreamServer } from '../upstreams.js';
import type { UpstreamOrigin } from '../view.js';
import type { Dialer, Family } from './dialer.js';

/** What createExchanger needs. */
export interface ExchangerOptions {
  /** Dialer per origin (R11); without a 'sandbox' one, sandbox-origin servers fail as 'no-dialer'. */
  readonly dialers: { readonly host: Dialer; readonly sandbox?: Dialer | undefined };
  readonly clock: Clock;
  readonly logger: Logger;
  /** Queries sent on one UDP socket before it is replaced (source-port rotation). */
  readonly rotateAfter: number;
}

const CLOSED: ExchangeResult = Object.freeze({ ok: false, reason: 'closed' });
const NO_DIALER: ExchangeResult = Object.freeze({ ok: false, reason: 'no-dialer' });
const TIMEOUT: ExchangeResult = Object.freeze({ ok: false, reason: 'timeout' });
const OVERLOAD: ExchangeResult = Object.freeze({ ok: false, reason: 'overload' });
const SOCKET_FAILED: ExchangeResult = Object.freeze({ ok: false, reason: 'network', error: new Error('upstream UDP socket failed') });
const noop = (): void => undefined;

// 16-bit IDs from a CSPRNG pool, refilled in bulk (RFC 5452 §9.2: IDs must be unpredictable).
const idPool = new Uint16Array(4096);
let idNext = idPool.length;

/** A random 16-bit query ID. */
export function randomId(): number {
  if (idNext === idPool.length) {
    randomFillSync(idPool);
    idNext = 0;
  }
  return idPool[idNext++]!;
}

/** Build the real Exchanger over `dialers`. */
export function createExchanger(opts: ExchangerOptions): Exchanger {
  const muxes = new Map<string, UdpMux>();
  const tcpInFlight = new Set<AbortController>();
  let closed = false;

  const dialerOf = (origin: UpstreamOrigin): Dialer | undefined => (origin === 'host' ? opts.dialers.host : opts.dialers.sandbox);
  const muxOf = (dialer: Dialer, origin: UpstreamOrigin, family: Family): UdpMux => {
    const k = `${origin}/${family}`;
    let m = muxes.get(k);
    if (m === undefined) {
      m = new UdpMux(() => dialer.udpSocket(origin, family), opts.clock, opts.logger, opts.rotateAfter);
      muxes.set(k, m);
    }
    return m;
  };

  return {
    exchange(server, q, timeoutMs) {
      if (closed) return Promise.resolve(CLOSED);
      const dialer = dialerOf(server.origin);
      if (dialer === undefined) return Promise.resolve(NO_DIALER);
      const bytes = Buffer.allocUnsafe(q.raw.length);
      q.raw.copy(bytes);
      if (q.transport === 'udp') return muxOf(dialer, server.origin, server.family).exchange(server, bytes, q.questionEnd, timeoutMs);
      return exchangeTcp(dialer, server, bytes, q, timeoutMs, opts.clock, tcpInFlight);
    },
    async close() {
      closed = true;
      for (const ac of tcpInFlight) ac.abort('closed');
      await Promise.all([...muxes.values()].map((m) => m.close()));
      muxes.clear();
    },
  };
}

// One query over one TCP connection (RFC 1035 §4.2.2 framing, RFC 7766): connect, write, read one reply, close.
async function exchangeTcp(
  dialer: Dialer,
  server: UpstreamServer,
  bytes: Buffer,
  q: Query,
  timeoutMs: number,
  clock: Clock,
  inFlight: Set<AbortController>,
): Promise<ExchangeResult> {
  const ac = new AbortController();
  const cancel = clock.setTimeout(() => ac.abort('timeout'), timeoutMs);
  inFlight.add(ac);
  const id = randomId();
  bytes.writeUInt16BE(id, 0);
  try {
    const sock = await dialer.tcpConnect(server.origin, server.address, server.port, ac.signal);
    try {
      return await readOneReply(sock, bytes, q.questionEnd, ac.signal);
    } finally {
      sock.destroy();
    }
  } catch (error) {
    return aborted(ac.signal) ?? { ok: false, reason: 'network', error };
  } finally {
    cancel();
    inFlight.delete(ac);
  }
}

function aborted(signal: AbortSignal): ExchangeResult | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason === 'closed' ? CLOSED : { ok: false, reason: 'timeout' };
}

// Write the framed query; resolve with the first framed message (a wrong ID or question is an error, as miekg over TCP).
function readOneReply(sock: net.Socket, query: Buffer, questionEnd: number, signal: AbortSignal): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve) => {
    const early = aborted(signal);
    if (early !== undefined) {
      resolve(early);
      return;
    }
    const chunks: Buffer[] = [];
    let have = 0;
    const done = (r: ExchangeResult): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => done(aborted(signal)!);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < 2) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
      chunks.length = 0;
      chunks.push(all);
      const len = all.readUInt16BE(0);
      if (have < len + 2) return;
      const msg = all.subarray(2, 2 + len);
      const ok = msg.length >= 12 && msg.readUInt16BE(0) === query.readUInt16BE(0) && matchesQuestion(msg, query, questionEnd);
      done(ok ? { ok: true, bytes: msg } : { ok: false, reason: 'mismatch' });
    });
    sock.on('error', (error) => done({ ok: false, reason: 'network', error }));
    sock.on('close', () => done({ ok: false, reason: 'network', error: new Error('connection closed before a reply') }));
    const frame = Buffer.allocUnsafe(query.length + 2);
    frame.writeUInt16BE(query.length, 0);
    query.copy(frame, 2);
    sock.write(frame);
  });
}

/** A query waiting for its UDP reply. */
interface Pending {
  readonly address: string;
  readonly port: number;
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly resolve: (r: ExchangeResult) => void;
  cancel: () => void;
}

/** One UDP socket and the queries in flight on it, by ID. */
class UdpChannel {
  readonly #sock: dgram.Socket;
  readonly #clock: Clock;
  readonly #onClose: (ch: UdpChannel) => void;
  readonly #pending = new Map<number, Pending>();
  sent = 0;
  #retired = false;
  #closed = false;

  constructor(sock: dgram.Socket, clock: Clock, logger: Logger, onClose: (ch: UdpChannel) => void) {
    this.#sock = sock;
    this.#clock = clock;
    this.#onClose = onClose;
    sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#onMessage(msg, rinfo));
    sock.on('error', (err) => {
      logger.warn({ err }, 'resolver: upstream UDP socket failed, replacing it');
      this.close(SOCKET_FAILED);
    });
    sock.unref();
  }

  /** Send `bytes` under a free random ID; resolve with the matching reply or a failure. */
  exchange(server: UpstreamServer, bytes: Buffer, questionEnd: number, timeoutMs: number): Promise<ExchangeResult> {
    if (this.#closed) return Promise.resolve(SOCKET_FAILED);
    let id = randomId();
    for (let tries = 0; this.#pending.has(id); tries++) {
      if (tries > 32) return Promise.resolve(OVERLOAD);
      id = randomId();
    }
    bytes.writeUInt16BE(id, 0);
    this.sent++;
    return new Promise<ExchangeResult>((resolve) => {
      const p: Pending = { address: server.address, port: server.port, query: bytes, questionEnd, resolve, cancel: noop };
      this.#pending.set(id, p);
      p.cancel = this.#clock.setTimeout(() => this.#settle(id, p, TIMEOUT), timeoutMs);
      try {
        this.#sock.send(bytes, server.port, server.address, (error) => {
          if (error) this.#settle(id, p, { ok: false, reason: 'network', error });
        });
      } catch (error) {
        this.#settle(id, p, { ok: false, reason: 'network', error });
      }
    });
  }

  /** Take no new queries; close once the last one in flight ends. */
  retire(): void {
    this.#retired = true;
    if (this.#pending.size === 0) this.close(CLOSED);
  }

  /** Close the socket; queries in flight end with `result`. */
  close(result: ExchangeResult): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, p] of this.#pending) this.#settle(id, p, result);
    try {
      this.#sock.close();
    } catch {
      // already closed
    }
    this.#onClose(this);
  }

  // RFC 5452 §9.1: source address, port, ID and question must all match; otherwise keep waiting.
  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const id = (msg[0]! << 8) | msg[1]!;
    const p = this.#pending.get(id);
    if (p === undefined || rinfo.port !== p.port || rinfo.address !== p.address) return;
    if (!matchesQuestion(msg, p.query, p.questionEnd)) return;
    this.#settle(id, p, { ok: true, bytes: msg });
  }

  #settle(id: number, p: Pending, r: ExchangeResult): void {
    if (this.#pending.get(id) !== p) return;
    this.#pending.delete(id);
    p.cancel();
    p.resolve(r);
    if (this.#retired && this.#pending.size === 0) this.close(CLOSED);
  }
}

/**
 * The UDP channel of one origin and family: opened on first use, replaced
 * after `rotateAfter` queries (the old one drains), reopened after a socket error.
 */
class UdpMux {
  readonly #open: () => dgram.Socket | Promise<dgram.Socket>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #rotateAfter: number;
  readonly #all = new Set<UdpChannel>();
  #current: UdpChannel | undefined;
  #opening: Promise<UdpChannel | Error> | undefined;
  #closed = false;

  constructor(open: () => dgram.Socket | Promise<dgram.Socket>, clock: Clock, logger: Logger, rotateAfter: number) {
    this.#open = open;
    this.#clock = clock;
    this.#logger = logger;
    this.#rotateAfter = rotateAfter;
  }

  /** Exchange on the current channel (opening one first when there is none). */
  exchange(server: UpstreamServer, bytes: Buffer, questionEnd: number, timeoutMs: number): Promise<ExchangeResult> {
    const ch = this.#current;
    if (ch === undefined) return this.#exchangeLater(server, bytes, questionEnd, timeoutMs);
    if (ch.sent >= this.#rotateAfter && this.#opening === undefined) void this.#openChannel();
    return ch.exchange(server, bytes, questionEnd, timeoutMs);
  }

  /** Close every channel; queries in flight end as 'closed'. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#opening;
    for (const ch of [...this.#all]) ch.close(CLOSED);
  }

  async #exchangeLater(server: UpstreamServer, bytes: Buffer, questionEnd: number, timeoutMs: number): Promise<ExchangeResult> {
    const ch = await (this.#opening ?? this.#openChannel());
    if (this.#closed) return CLOSED;
    if (ch instanceof Error) return { ok: false, reason: 'network', error: ch };
    return ch.exchange(server, bytes, questionEnd, timeoutMs);
  }

  #openChannel(): Promise<UdpChannel | Error> {
    const opening = (async (): Promise<UdpChannel | Error> => {
      try {
        const sock = await this.#open();
        const ch = new UdpChannel(sock, this.#clock, this.#logger, (c) => {
          this.#all.delete(c);
          if (this.#current === c) this.#current = undefined;
        });
        this.#all.add(ch);
        if (this.#closed) ch.close(CLOSED);
        else {
          this.#current?.retire();
          this.#current = ch;
        }
        return ch;
      } catch (err) {
        this.#logger.warn({ err }, 'resolver: could not open an upstream UDP socket');
        if (this.#current !== undefined) this.#current.sent = 0; // a failed rotation is retried later, not per query
        return err instanceof Error ? err : new Error(String(err));
      } finally {
        this.#opening = undefined;
      }
    })();
    this.#opening = opening;
    return opening;
  }
}
