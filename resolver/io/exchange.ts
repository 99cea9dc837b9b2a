/**
 * The real Exchanger (R10–R12; FS1, FS2; RFC 5452). UDP: every query gets its own
 * socket, connect()ed to the server by the origin's Dialer, so it has a fresh
 * random source port (the kernel's ephemeral range) and the kernel itself
 * drops datagrams from any other address or port (RFC 5452 §9.1, as
 * unbound's outgoing-range); a reply counts only when it also carries our
 * random ID and question (§9.2). The socket closes with the exchange. An ICMP
 * port-unreachable on a connected socket fails the exchange at once. TCP: one
 * connection per query, as Docker does. Sockets come from the
 * origin's Dialer (R11).
 */
import { randomFillSync } from 'node:crypto';
import type net from 'node:net';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { LiveList } from '../../common/live-list.js';
import { matchesQuestion, type ExchangeResult, type Exchanger } from '../forward.js';
import type { UpstreamQuery } from '../upstream-query.js';
import type { UpstreamServer } from '../upstreams.js';
import type { UpstreamOrigin } from '../view.js';
import type { Dialer, UdpFlight, UdpSink } from './dialer.js';

/** What createExchanger needs. */
export interface ExchangerOptions {
  /** Dialer per origin (R11); without a 'sandbox' one, sandbox-origin servers fail as 'no-dialer'. */
  readonly dialers: { readonly host: Dialer; readonly sandbox?: Dialer | undefined };
  readonly clock: Clock;
  readonly logger: Logger;
}

const CLOSED: ExchangeResult = Object.freeze({ ok: false, reason: 'closed' });
const NO_DIALER: ExchangeResult = Object.freeze({ ok: false, reason: 'no-dialer' });
const TIMEOUT: ExchangeResult = Object.freeze({ ok: false, reason: 'timeout' });

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
  const live = new LiveList<(r: ExchangeResult) => void>();
  let closed = false;
  const dialerOf = (origin: UpstreamOrigin): Dialer | undefined => (origin === 'host' ? opts.dialers.host : opts.dialers.sandbox);

  return {
    exchange(server, query, transport, timeoutMs, signal) {
      if (closed || signal?.aborted === true) return Promise.resolve(CLOSED);
      const dialer = dialerOf(server.origin);
      if (dialer === undefined) return Promise.resolve(NO_DIALER);
      query.bytes.writeUInt16BE(randomId(), 0);
      const run = transport === 'udp' ? exchangeUdp : exchangeTcp;
      return run({ dialer, server, query, timeoutMs, clock: opts.clock, live, signal });
    },
    close() {
      closed = true;
      for (const end of live.values()) end(CLOSED);
      return Promise.resolve();
    },
  };
}

interface Attempt {
  readonly dialer: Dialer;
  readonly server: UpstreamServer;
  readonly query: UpstreamQuery;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly live: LiveList<(r: ExchangeResult) => void>;
  readonly signal: AbortSignal | undefined;
}

// Settles once: the first of reply, failure, timeout, abort or close wins; `cleanup` releases everything.
function settleOnce(a: Attempt, resolve: (r: ExchangeResult) => void, cleanup: () => void): (r: ExchangeResult) => void {
  let done = false;
  const onAbort = (): void => end(CLOSED);
  const cancel = a.clock.setTimeout(() => end(TIMEOUT), a.timeoutMs);
  const end = (r: ExchangeResult): void => {
    if (done) return;
    done = true;
    cancel();
    a.signal?.removeEventListener('abort', onAbort);
    a.live.remove(node);
    cleanup();
    resolve(r);
  };
  a.signal?.addEventListener('abort', onAbort, { once: true });
  const node = a.live.add(end);
  return end;
}

// One UDP exchange on its own connected socket (see the file comment).
function exchangeUdp(a: Attempt): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve) => {
    let flight: UdpFlight | undefined;
    let gone = false;
    const end = settleOnce(a, resolve, () => {
      gone = true;
      flight?.close();
    });
    const { bytes, questionEnd } = a.query;
    const id = (bytes[0]! << 8) | bytes[1]!;
    const sink: UdpSink = {
      datagram(msg) {
        // The kernel filtered the source (connected socket); ID and question are ours to check.
        if (msg.length < 12 || ((msg[0]! << 8) | msg[1]!) !== id) return;
        if (matchesQuestion(msg, bytes, questionEnd)) end({ ok: true, bytes: msg });
      },
      error(error) {
        end({ ok: false, reason: 'network', error });
      },
    };
    try {
      const f = a.dialer.udpQuery(a.server.origin, a.server.address, a.server.port, a.server.family, bytes, sink);
      if (f instanceof Promise) {
        f.then(
          (x) => {
            if (gone) x.close();
            else flight = x;
          },
          (error: unknown) => end({ ok: false, reason: 'network', error }),
        );
      } else flight = f;
    } catch (error) {
      end({ ok: false, reason: 'network', error });
    }
  });
}

// One query over one TCP connection (RFC 1035 §4.2.2 framing, RFC 7766): connect, write, read one reply, close.
function exchangeTcp(a: Attempt): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve) => {
    const ac = new AbortController();
    const end = settleOnce(a, resolve, () => ac.abort());
    let connecting: Promise<net.Socket>;
    try {
      connecting = a.dialer.tcpConnect(a.server.origin, a.server.address, a.server.port, ac.signal);
    } catch (error) {
      // A dialer may throw before it has a promise (a sandbox dialer whose namespace is gone, no descriptor left).
      end({ ok: false, reason: 'network', error });
      return;
    }
    connecting.then(
      (sock) => {
        if (ac.signal.aborted) {
          sock.destroy();
          return;
        }
        void readOneReply(sock, a.query, ac.signal).then((r) => {
          sock.destroy();
          end(r);
        });
      },
      (error: unknown) => end({ ok: false, reason: 'network', error }),
    );
  });
}

// Write the framed query; resolve with the first framed message (a wrong ID or question is an error, as miekg over TCP).
function readOneReply(sock: net.Socket, query: UpstreamQuery, signal: AbortSignal): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve) => {
    if (signal.aborted) {
      resolve(CLOSED);
      return;
    }
    const chunks: Buffer[] = [];
    let have = 0;
    /** The frame's whole size (length prefix included) once its first two bytes are in; -1 before. */
    let need = -1;
    const done = (r: ExchangeResult): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => done(CLOSED);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (need < 0) {
        if (have < 2) return;
        need = (chunks[0]!.length >= 2 ? chunks[0]! : Buffer.concat(chunks, have)).readUInt16BE(0) + 2;
      }
      // Joined once, when the whole frame is in: a server trickling its reply a byte at a time costs a copy per byte, not per buffered byte.
      if (have < need) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
      const msg = all.subarray(2, need);
      const q = query.bytes;
      const ok = msg.length >= 12 && msg.readUInt16BE(0) === q.readUInt16BE(0) && matchesQuestion(msg, q, query.questionEnd);
      done(ok ? { ok: true, bytes: msg } : { ok: false, reason: 'mismatch' });
    });
    sock.on('error', (error) => done({ ok: false, reason: 'network', error }));
    sock.on('close', () => done({ ok: false, reason: 'network', error: new Error('connection closed before a reply') }));
    const frame = Buffer.allocUnsafe(query.bytes.length + 2);
    frame.writeUInt16BE(query.bytes.length, 0);
    query.bytes.copy(frame, 2);
    sock.write(frame);
  });
}
