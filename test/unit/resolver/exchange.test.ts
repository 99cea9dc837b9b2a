/**
 * R10–R12, FS1–FS2 io/exchange.ts: a fresh connected UDP socket per query
 * (random port, kernel-filtered source), RFC 5452 matching, socket failure,
 * TCP exchanges, close(). Everything on loopback; sockets come from spy dialers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/log.js';
import { acceptQuery } from '../../../resolver/accept.js';
import { type Dialer, type Transport, type UdpFlight, type UdpSink } from '../../../resolver/index.js';
import { hostDialer } from '../../../resolver/io/dialer.js';
import { selectUpstreams, type UpstreamServer } from '../../../resolver/upstreams.js';
import type { ExchangeResult, Exchanger } from '../../../resolver/forward.js';
import type { Query } from '../../../resolver/query.js';
import { buildUpstreamQuery } from '../../../resolver/upstream-query.js';
import { createExchanger, randomId } from '../../../resolver/io/exchange.js';
import { decode, query } from './_helpers.js';
import { aRecord, aRecords, answersA, closeAll, dead, reply, startUpstream } from './_upstream.js';

const exchangers: Exchanger[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(exchangers.splice(0).map((e) => e.close()));
  for (const c of cleanups.splice(0)) c();
  await closeAll();
});

function q(name: string, transport: Transport = 'udp'): Query {
  const r = acceptQuery(query(name), transport);
  if (r.kind !== 'query') throw new Error('not a query');
  return r;
}

/** Exchange the upstream query for `name` (no 0x20) over `transport`. */
function ask(ex: Exchanger, s: UpstreamServer, name: string, timeoutMs: number, transport: Transport = 'udp'): Promise<ExchangeResult> {
  return ex.exchange(s, buildUpstreamQuery(q(name, transport), false), transport, timeoutMs);
}

function server(port: number): UpstreamServer {
  return selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [{ address: '127.0.0.1', port, origin: 'host' }] }, 1).servers[0]!;
}

/** A host dialer that records the UDP query sockets it made. */
function spyDialer(): Dialer & { flights: UdpFlight[]; sinks: UdpSink[]; ports: number[]; closed: number } {
  const spy = {
    flights: [] as UdpFlight[],
    sinks: [] as UdpSink[],
    ports: [] as number[],
    closed: 0,
    async udpQuery(origin: 'host' | 'sandbox', address: string, port: number, family: 4 | 6, bytes: Buffer, sink: UdpSink) {
      const f = await hostDialer.udpQuery(origin, address, port, family, bytes, sink);
      spy.flights.push(f);
      spy.sinks.push(sink);
      spy.ports.push(f.ends().local.port);
      return {
        ends: () => f.ends(),
        close() {
          spy.closed++;
          f.close();
        },
      };
    },
    tcpConnect: hostDialer.tcpConnect,
  };
  return spy;
}

function exchanger(dialer: Dialer = hostDialer): Exchanger {
  const e = createExchanger({ dialers: { host: dialer }, clock: systemClock, logger: silentLogger() });
  exchangers.push(e);
  return e;
}

describe('R10 UDP exchanges', () => {
  it('FS1 300 concurrent queries each get their own connected socket on its own random port, closed after', async () => {
    const up = await startUpstream((x) => reply(x, { answers: aRecords(x, 1 + (Number(x.name.slice(1, -8)) % 5)) }));
    const dialer = spyDialer();
    const ex = exchanger(dialer);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => ask(ex, server(up.port), `n${i}.example`, 2000)));
    results.forEach((r, i) => {
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(decode(r.bytes).answers).toHaveLength(1 + (i % 5));
    });
    expect(dialer.flights).toHaveLength(300);
    expect(new Set(dialer.ports).size).toBe(300);
    // Spread over the ephemeral range, not sequential (the kernel picks at random).
    const sorted = [...dialer.ports].sort((a, b) => a - b);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(5000);
    await new Promise((r) => setTimeout(r, 10));
    expect(dialer.closed).toBe(300);
    expect(new Set(up.seen.map((s) => s.id)).size).toBeGreaterThan(290);
  });

  it('FS1 the socket is connect()ed to the server and bound to the route source (loopback for a loopback server)', async () => {
    const up = await startUpstream(dead);
    const spy = spyDialer();
    const ex = exchanger(spy);
    const pending = ask(ex, server(up.port), 'x.example', 200);
    await new Promise((r) => setTimeout(r, 20));
    const { local, remote } = spy.flights[0]!.ends();
    expect(remote).toMatchObject({ address: '127.0.0.1', port: up.port });
    expect(local.address).toBe('127.0.0.1');
    expect(await pending).toEqual({ ok: false, reason: 'timeout' });
  });

  it('FS1 an ICMP port unreachable on the connected socket fails at once, not at the timeout', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const t0 = performance.now();
    const r = await ask(exchanger(), server(port), 'x.example', 3000);
    expect(r).toMatchObject({ ok: false, reason: 'network' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('R10 RFC 5452: a reply with the right ID and question from another port is ignored', async () => {
    const forger = dgram.createSocket('udp4');
    const real = dgram.createSocket('udp4');
    cleanups.push(() => forger.close(), () => real.close());
    await new Promise<void>((r) => forger.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => real.bind(0, '127.0.0.1', r));
    real.on('message', (msg, rinfo) => {
      const seen = { transport: 'udp' as const, id: msg.readUInt16BE(0), name: 'x.example', type: 'A', raw: msg };
      forger.send(reply(seen, { answers: [aRecord('x.example', '6.6.6.6')] }), rinfo.port, rinfo.address);
      setTimeout(() => real.send(reply(seen, { answers: aRecords(seen) }), rinfo.port, rinfo.address), 30);
    });
    const r = await ask(exchanger(), server(real.address().port), 'x.example', 1000);
    expect(r.ok && decode(r.bytes).answers?.[0]?.data).toBe('10.1.0.0');
  });

  it('R10 a server that never answers ends as a timeout after timeoutMs', async () => {
    const up = await startUpstream(dead);
    const t0 = performance.now();
    const r = await ask(exchanger(), server(up.port), 'x.example', 120);
    expect(r).toEqual({ ok: false, reason: 'timeout' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('R10 a socket error fails its query as a network error; the next query gets a new socket', async () => {
    const deadUp = await startUpstream(dead);
    const good = await startUpstream(answersA());
    const dialer = spyDialer();
    const ex = exchanger(dialer);
    const pending = ask(ex, server(deadUp.port), 'a.example', 5000);
    await new Promise((r) => setTimeout(r, 20));
    dialer.sinks[0]!.error(new Error('boom'));
    expect(await pending).toMatchObject({ ok: false, reason: 'network' });
    expect(dialer.closed).toBe(1);
    expect((await ask(ex, server(good.port), 'b.example', 1000)).ok).toBe(true);
    expect(dialer.flights).toHaveLength(2);
  });

  it('R10 a dialer that cannot make a socket gives a network failure, not a throw', async () => {
    const broken: Dialer = { udpQuery: () => Promise.reject(new Error('no netns')), tcpConnect: hostDialer.tcpConnect };
    const r = await ask(exchanger(broken), server(53), 'x.example', 100);
    expect(r).toMatchObject({ ok: false, reason: 'network' });
    const throwing: Dialer = { udpQuery: () => { throw new Error('no helper'); }, tcpConnect: hostDialer.tcpConnect };
    expect(await ask(exchanger(throwing), server(53), 'x.example', 100)).toMatchObject({ ok: false, reason: 'network' });
    expect(r).toMatchObject({ ok: false, reason: 'network' });
    // TCP alike: a dialer that throws before it has a promise (the native helper's setns into a vanished namespace).
    const tcpThrowing: Dialer = { udpQuery: hostDialer.udpQuery, tcpConnect: () => { throw new Error('setns: ENOENT'); } };
    expect(await ask(exchanger(tcpThrowing), server(53), 'x.example', 100, 'tcp')).toMatchObject({ ok: false, reason: 'network' });
    const tcpRejecting: Dialer = { udpQuery: hostDialer.udpQuery, tcpConnect: () => Promise.reject(new Error('EMFILE')) };
    expect(await ask(exchanger(tcpRejecting), server(53), 'x.example', 100, 'tcp')).toMatchObject({ ok: false, reason: 'network' });
  });

  it('R12 close() ends queries in flight as closed, and later ones at once', async () => {
    const up = await startUpstream(dead);
    const ex = exchanger();
    const pending = ask(ex, server(up.port), 'x.example', 5000);
    const tcp = ask(ex, server(up.port), 'y.example', 5000, 'tcp');
    await new Promise((r) => setTimeout(r, 30));
    await ex.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    expect(await tcp).toEqual({ ok: false, reason: 'closed' });
    expect(await ask(ex, server(up.port), 'z.example', 5000)).toEqual({ ok: false, reason: 'closed' });
  });

  it('R12 an aborted signal ends the exchange as closed and closes its socket', async () => {
    const up = await startUpstream(dead);
    const dialer = spyDialer();
    const ac = new AbortController();
    const pending = exchanger(dialer).exchange(server(up.port), buildUpstreamQuery(q('x.example'), false), 'udp', 5000, ac.signal);
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    await new Promise((r) => setTimeout(r, 5));
    expect(dialer.closed).toBe(1);
  });

  it('R10 randomId spreads over the 16-bit space', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => randomId()));
    expect(ids.size).toBeGreaterThan(9000);
  });
});

describe('R10 TCP exchanges', () => {
  async function tcpServer(onQuery: (msg: Buffer, sock: net.Socket) => void): Promise<number> {
    const srv = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', (d: Buffer) => onQuery(d.subarray(2), sock));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => srv.close());
    return (srv.address() as net.AddressInfo).port;
  }
  const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);

  it('R10 a reply split over several writes is reassembled', async () => {
    const port = await tcpServer((msg, sock) => {
      const r = frame(reply({ transport: 'tcp', id: msg.readUInt16BE(0), name: 'x.example', type: 'A', raw: msg }, { answers: aRecords({ name: 'x.example' } as never, 30) }));
      sock.write(r.subarray(0, 1));
      setTimeout(() => sock.write(r.subarray(1, 100)), 5);
      setTimeout(() => sock.write(r.subarray(100)), 10);
    });
    const r = await ask(exchanger(), server(port), 'x.example', 1000, 'tcp');
    expect(r.ok && decode(r.bytes).answers).toHaveLength(30);
  });

  it('R10 a large reply trickled in small writes is joined once, not at every write (bounded work per byte)', async () => {
    const port = await tcpServer((msg, sock) => {
      const r = frame(reply({ transport: 'tcp', id: msg.readUInt16BE(0), name: 'x.example', type: 'A', raw: msg }, { answers: aRecords({ name: 'x.example' } as never, 2000) }));
      sock.setNoDelay(true);
      let at = 0;
      const step = (): void => {
        if (at >= r.length || sock.destroyed) return;
        const n = at < 4 ? 1 : 1024; // the length prefix split too
        sock.write(r.subarray(at, at + n));
        at += n;
        setImmediate(step);
      };
      step();
    });
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const r = await ask(exchanger(), server(port), 'x.example', 5000, 'tcp');
      expect(r.ok && decode(r.bytes).answers).toHaveLength(2000);
      // At most two joins: the first two bytes (the length, split here), then the whole frame.
      expect(concat.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      concat.mockRestore();
    }
  });

  it('R10 a TCP reply with another ID is an error (as miekg), not a wait', async () => {
    const port = await tcpServer((msg, sock) => {
      const r = reply({ transport: 'tcp', id: msg.readUInt16BE(0) ^ 1, name: 'x.example', type: 'A', raw: msg });
      sock.write(frame(r));
    });
    expect(await ask(exchanger(), server(port), 'x.example', 1000, 'tcp')).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('R10 a server closing without a reply is a network error; a silent one a timeout', async () => {
    const closing = await tcpServer((_m, sock) => sock.end());
    expect(await ask(exchanger(), server(closing), 'x.example', 1000, 'tcp')).toMatchObject({ ok: false, reason: 'network' });
    const silent = await tcpServer(() => undefined);
    expect(await ask(exchanger(), server(silent), 'x.example', 100, 'tcp')).toEqual({ ok: false, reason: 'timeout' });
  });

  it('R11 sandbox-origin servers connect through the sandbox dialer', async () => {
    const up = await startUpstream(answersA());
    const calls: string[] = [];
    const sandbox: Dialer = {
      udpQuery: (o, a, p, f, b, k) => (calls.push(`udp:${o}`), hostDialer.udpQuery(o, a, p, f, b, k)),
      tcpConnect: (o, a, p, s) => (calls.push(`tcp:${o}`), hostDialer.tcpConnect(o, a, p, s)),
    };
    const ex = createExchanger({ dialers: { host: hostDialer, sandbox }, clock: systemClock, logger: silentLogger() });
    exchangers.push(ex);
    const s = { ...server(up.port), origin: 'sandbox' as const };
    expect((await ask(ex, s, 'a.example', 1000, 'tcp')).ok).toBe(true);
    expect((await ask(ex, s, 'b.example', 1000)).ok).toBe(true);
    expect((await ask(ex, server(up.port), 'c.example', 1000)).ok).toBe(true);
    expect(calls).toEqual(['tcp:sandbox', 'udp:sandbox']);
  });
});
