/**
 * R10–R12 io/exchange.ts: one UDP socket multiplexed by random ID, RFC 5452
 * matching, source-port rotation, socket failure, TCP exchanges, close().
 * Everything on loopback; sockets come from spy dialers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/log.js';
import { acceptQuery } from '../../../resolver/accept.js';
import { type Dialer, type Transport } from '../../../resolver/index.js';
import { hostDialer } from '../../../resolver/io/dialer.js';
import { selectUpstreams, type UpstreamServer } from '../../../resolver/upstreams.js';
import type { Exchanger } from '../../../resolver/forward.js';
import type { Query } from '../../../resolver/query.js';
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

function server(port: number): UpstreamServer {
  return selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [{ address: '127.0.0.1', port, origin: 'host' }] }, 1).servers[0]!;
}

/** A host dialer that records the UDP sockets it made. */
function spyDialer(): Dialer & { sockets: dgram.Socket[]; ports: number[]; closed: number } {
  const spy = {
    sockets: [] as dgram.Socket[],
    ports: [] as number[],
    closed: 0,
    async udpSocket(origin: 'host' | 'sandbox', family: 4 | 6) {
      const s = await hostDialer.udpSocket(origin, family);
      s.on('close', () => spy.closed++);
      spy.sockets.push(s);
      spy.ports.push(s.address().port);
      return s;
    },
    tcpConnect: hostDialer.tcpConnect,
  };
  return spy;
}

function exchanger(dialer: Dialer = hostDialer, rotateAfter = 4096): Exchanger {
  const e = createExchanger({ dialers: { host: dialer }, clock: systemClock, logger: silentLogger(), rotateAfter });
  exchangers.push(e);
  return e;
}

describe('R10 UDP exchanges', () => {
  it('R10 300 concurrent queries share one socket, each matched to its own reply by ID', async () => {
    const up = await startUpstream((x) => reply(x, { answers: aRecords(x, 1 + (Number(x.name.slice(1, -8)) % 5)) }));
    const dialer = spyDialer();
    const ex = exchanger(dialer);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => ex.exchange(server(up.port), q(`n${i}.example`), 2000)));
    results.forEach((r, i) => {
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(decode(r.bytes).answers).toHaveLength(1 + (i % 5));
    });
    expect(dialer.sockets).toHaveLength(1);
    expect(new Set(up.seen.map((s) => s.id)).size).toBe(300);
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
    const r = await exchanger().exchange(server(real.address().port), q('x.example'), 1000);
    expect(r.ok && decode(r.bytes).answers?.[0]?.data).toBe('10.1.0.0');
  });

  it('R10 a server that never answers ends as a timeout after timeoutMs', async () => {
    const up = await startUpstream(dead);
    const t0 = performance.now();
    const r = await exchanger().exchange(server(up.port), q('x.example'), 120);
    expect(r).toEqual({ ok: false, reason: 'timeout' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('R10 RFC 5452 §4.5: the UDP socket is replaced after rotateAfter queries; the old one closes when drained', async () => {
    const up = await startUpstream(answersA());
    const dialer = spyDialer();
    const ex = exchanger(dialer, 10);
    for (let i = 0; i < 25; i++) expect((await ex.exchange(server(up.port), q(`r${i}.example`), 1000)).ok).toBe(true);
    expect(dialer.sockets).toHaveLength(3);
    expect(new Set(dialer.ports).size).toBe(3);
    await new Promise((r) => setTimeout(r, 10));
    expect(dialer.closed).toBe(2);
  });

  it('R10 a socket error fails its queries as network errors; the next query gets a new socket', async () => {
    const deadUp = await startUpstream(dead);
    const good = await startUpstream(answersA());
    const dialer = spyDialer();
    const ex = exchanger(dialer);
    const pending = ex.exchange(server(deadUp.port), q('a.example'), 5000);
    await new Promise((r) => setTimeout(r, 20));
    dialer.sockets[0]!.emit('error', new Error('boom'));
    expect(await pending).toMatchObject({ ok: false, reason: 'network' });
    expect((await ex.exchange(server(good.port), q('b.example'), 1000)).ok).toBe(true);
    expect(dialer.sockets).toHaveLength(2);
  });

  it('R10 a dialer that cannot make a socket gives a network failure, not a throw', async () => {
    const broken: Dialer = { udpSocket: () => Promise.reject(new Error('no netns')), tcpConnect: hostDialer.tcpConnect };
    const r = await exchanger(broken).exchange(server(53), q('x.example'), 100);
    expect(r).toMatchObject({ ok: false, reason: 'network' });
  });

  it('R12 close() ends queries in flight as closed, and later ones at once', async () => {
    const up = await startUpstream(dead);
    const ex = exchanger();
    const pending = ex.exchange(server(up.port), q('x.example'), 5000);
    const tcp = ex.exchange(server(up.port), q('y.example', 'tcp'), 5000);
    await new Promise((r) => setTimeout(r, 30));
    await ex.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    expect(await tcp).toEqual({ ok: false, reason: 'closed' });
    expect(await ex.exchange(server(up.port), q('z.example'), 5000)).toEqual({ ok: false, reason: 'closed' });
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
    const r = await exchanger().exchange(server(port), q('x.example', 'tcp'), 1000);
    expect(r.ok && decode(r.bytes).answers).toHaveLength(30);
  });

  it('R10 a TCP reply with another ID is an error (as miekg), not a wait', async () => {
    const port = await tcpServer((msg, sock) => {
      const r = reply({ transport: 'tcp', id: msg.readUInt16BE(0) ^ 1, name: 'x.example', type: 'A', raw: msg });
      sock.write(frame(r));
    });
    expect(await exchanger().exchange(server(port), q('x.example', 'tcp'), 1000)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('R10 a server closing without a reply is a network error; a silent one a timeout', async () => {
    const closing = await tcpServer((_m, sock) => sock.end());
    expect(await exchanger().exchange(server(closing), q('x.example', 'tcp'), 1000)).toMatchObject({ ok: false, reason: 'network' });
    const silent = await tcpServer(() => undefined);
    expect(await exchanger().exchange(server(silent), q('x.example', 'tcp'), 100)).toEqual({ ok: false, reason: 'timeout' });
  });

  it('R11 sandbox-origin servers connect through the sandbox dialer', async () => {
    const up = await startUpstream(answersA());
    const calls: string[] = [];
    const sandbox: Dialer = {
      udpSocket: (o, f) => (calls.push(`udp:${o}`), hostDialer.udpSocket(o, f)),
      tcpConnect: (o, a, p, s) => (calls.push(`tcp:${o}`), hostDialer.tcpConnect(o, a, p, s)),
    };
    const ex = createExchanger({ dialers: { host: hostDialer, sandbox }, clock: systemClock, logger: silentLogger(), rotateAfter: 100 });
    exchangers.push(ex);
    const s = { ...server(up.port), origin: 'sandbox' as const };
    expect((await ex.exchange(s, q('a.example', 'tcp'), 1000)).ok).toBe(true);
    expect((await ex.exchange(s, q('b.example', 'udp'), 1000)).ok).toBe(true);
    expect((await ex.exchange(server(up.port), q('c.example', 'udp'), 1000)).ok).toBe(true);
    expect(calls).toEqual(['tcp:sandbox', 'udp:sandbox']);
  });
});
