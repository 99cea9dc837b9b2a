/**
 * FS1 sandbox/io/dialer.ts and upstream-udp.ts: the host-side dialer gives
 * each UDP query a fresh socket from the native helper, connected to its
 * server, on its own random port, bound to the egress device of the server
 * (loopback here), closed with the flight; the kernel drops every other
 * source; an ICMP port unreachable reaches the sink as ECONNREFUSED.
 */
import dgram from 'node:dgram';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/log.js';
import { acceptQuery } from '../../../resolver/accept.js';
import type { UdpFlight, UdpSink } from '../../../resolver/index.js';
import { createExchanger } from '../../../resolver/io/exchange.js';
import { buildUpstreamQuery } from '../../../resolver/upstream-query.js';
import { selectUpstreams } from '../../../resolver/upstreams.js';
import { decode, query } from '../resolver/_helpers.js';
import { aRecords, answersA, closeAll, dead, reply, startUpstream } from '../resolver/_upstream.js';
import { egressDevice, hardenedHostDialer } from '../../../sandbox/io/dialer.js';
import { nativeUdpQuery, openUpstreamSockets, UpstreamSocketError } from '../../../sandbox/io/upstream-udp.js';
import { nativeUpstreamUdp } from '../../../common/io/native.js';

const noNative = nativeUdpQuery() === undefined;
const notRoot = process.getuid?.() !== 0;
const QUERY = Buffer.from('0102010000010000000000000178076578616d706c650000010001', 'hex');

const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await closeAll();
});

/** A loopback UDP server that records what it got and can answer. */
async function udpServer(): Promise<{ sock: dgram.Socket; port: number; got: { msg: Buffer; port: number }[] }> {
  const sock = dgram.createSocket('udp4');
  const got: { msg: Buffer; port: number }[] = [];
  sock.on('message', (msg, r) => got.push({ msg, port: r.port }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  cleanups.push(() => sock.close());
  return { sock, port: sock.address().port, got };
}

/** A sink that records datagrams and errors. */
function recorder(): UdpSink & { datagrams: Buffer[]; errors: Error[]; next(): Promise<void> } {
  let wake: (() => void) | undefined;
  const r = {
    datagrams: [] as Buffer[],
    errors: [] as Error[],
    datagram(msg: Buffer) {
      r.datagrams.push(msg);
      wake?.();
    },
    error(err: Error) {
      r.errors.push(err);
      wake?.();
    },
    next: () => new Promise<void>((res) => (wake = res)),
  };
  return r;
}

const until = async (cond: () => boolean, ms = 1000): Promise<void> => {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 5));
};

describe('FS1 hardenedHostDialer', () => {
  it('FS1 the egress device of a loopback server is lo', async () => {
    expect(await egressDevice('127.0.0.1', 4)).toBe('lo');
    expect(await egressDevice('127.53.1.2', 4)).toBe('lo');
  });

  it.skipIf(noNative || notRoot)('FS1 each query socket is connected to the server, on its own port, bound to lo (ss shows %lo), gone after close', async () => {
    const up = await udpServer();
    const dialer = hardenedHostDialer(silentLogger());
    const a = await dialer.udpQuery('host', '127.0.0.1', up.port, 4, QUERY, recorder());
    const b = await dialer.udpQuery('host', '127.0.0.1', up.port, 4, QUERY, recorder());
    const pa = a.ends().local.port;
    try {
      expect(a.ends().remote).toEqual({ address: '127.0.0.1', port: up.port });
      expect(a.ends().local.address).toBe('127.0.0.1');
      expect(pa).not.toBe(b.ends().local.port);
      const ss = await execa('ss', ['-uanH', 'sport', '=', `:${pa}`]);
      expect(ss.stdout).toContain(`127.0.0.1%lo:${pa}`);
      await until(() => up.got.length === 2);
      expect(up.got.map((g) => g.msg)).toEqual([QUERY, QUERY]);
    } finally {
      a.close();
      b.close();
    }
    expect(() => a.ends()).toThrow(/closed/);
    expect((await execa('ss', ['-uanH', 'sport', '=', `:${pa}`])).stdout).toBe('');
    expect(openUpstreamSockets()).toBe(0);
  });
});

describe.skipIf(noNative)('FS1 native upstream query sockets', () => {
  const open = nativeUdpQuery()!;

  it('FS1 the server reply reaches the sink; a datagram from another port of the same address never does', async () => {
    const up = await udpServer();
    const forger = await udpServer();
    const sink = recorder();
    const f = open('', '', 4, '127.0.0.1', up.port, QUERY, sink);
    cleanups.push(() => f.close());
    await until(() => up.got.length === 1);
    const local = up.got[0]!.port;
    expect(f.ends().local.port).toBe(local);
    forger.sock.send(Buffer.from('forged'), local, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.datagrams).toHaveLength(0);
    const got = sink.next();
    up.sock.send(Buffer.from('real'), local, '127.0.0.1');
    await got;
    expect(sink.datagrams.map(String)).toEqual(['real']);
    // Several datagrams from the server all arrive, in order, until close.
    up.sock.send(Buffer.from('two'), local, '127.0.0.1');
    up.sock.send(Buffer.from('three'), local, '127.0.0.1');
    await until(() => sink.datagrams.length === 3);
    expect(sink.datagrams.map(String)).toEqual(['real', 'two', 'three']);
    f.close();
    up.sock.send(Buffer.from('late'), local, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.datagrams).toHaveLength(3);
    expect(sink.errors).toEqual([]);
  });

  it('FS1 500 concurrent sockets: 500 ports spread over the ephemeral range, all closed after', async () => {
    const up = await udpServer();
    const flights: UdpFlight[] = [];
    for (let i = 0; i < 500; i++) flights.push(open('', '', 4, '127.0.0.1', up.port, QUERY, recorder()));
    const ports = flights.map((f) => f.ends().local.port);
    expect(new Set(ports).size).toBe(500);
    const sorted = [...ports].sort((x, y) => x - y);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(5000);
    // Not handed out in order: random, as the kernel picks for an unbound connect() (RFC 6056).
    const ascending = ports.slice(1).filter((p, i) => p > ports[i]!).length;
    expect(ascending).toBeGreaterThan(150);
    expect(ascending).toBeLessThan(350);
    expect(openUpstreamSockets()).toBe(500);
    for (const f of flights) f.close();
    for (const f of flights) f.close(); // idempotent
    expect(openUpstreamSockets()).toBe(0);
  });

  it('FS1 an ICMP port unreachable reaches the sink as ECONNREFUSED, and the socket is closed', async () => {
    const probe = await udpServer();
    const port = probe.port;
    probe.sock.close();
    cleanups.pop();
    const sink = recorder();
    const got = sink.next();
    open('', '', 4, '127.0.0.1', port, QUERY, sink);
    await got;
    expect(sink.errors[0]).toBeInstanceOf(UpstreamSocketError);
    expect(sink.errors[0]).toMatchObject({ code: 'ECONNREFUSED' });
    expect(openUpstreamSockets()).toBe(0);
  });

  it('FS1 a socket that cannot be made throws a typed error and leaves nothing open', () => {
    expect(() => open('', '', 4, 'not-an-ip', 53, QUERY, recorder())).toThrow(UpstreamSocketError);
    expect(() => open('', '', 4, 'not-an-ip', 53, QUERY, recorder())).toThrow(/EINVAL/);
    expect(() => open('/nonexistent/netns', '', 4, '127.0.0.1', 53, QUERY, recorder())).toThrow(/ENOENT/);
    if (!notRoot) expect(() => open('', 'nosuchdev0', 4, '127.0.0.1', 53, QUERY, recorder())).toThrow(/ENODEV/);
    expect(() => open('', '', 4, '127.0.0.1', 0, QUERY, recorder())).toThrow(TypeError);
    expect(openUpstreamSockets()).toBe(0);
  });

  it('R1 sendTo (listener replies): a datagram to the address given; a bad fd or address is an errno, not a throw', async () => {
    const up = await udpServer();
    const m = nativeUpstreamUdp()!;
    const own = dgram.createSocket('udp4');
    await new Promise<void>((r) => own.bind(0, '127.0.0.1', r));
    cleanups.push(() => own.close());
    // The fd of a socket Node owns, as bind.ts has it for the listener.
    const fd = (own as unknown as { _handle: { fd: number } })._handle.fd;
    expect(m.sendTo(fd, Buffer.from('reply'), 4, '127.0.0.1', up.port)).toBe(0);
    await until(() => up.got.length === 1);
    expect(String(up.got[0]!.msg)).toBe('reply');
    expect(up.got[0]!.port).toBe(own.address().port);
    expect(m.sendTo(fd, Buffer.from('x'), 4, 'not-an-ip', up.port)).toBe(-22);
    expect(m.sendTo(1_000_000, Buffer.from('x'), 4, '127.0.0.1', up.port)).toBe(-9);
    expect(() => m.sendTo(fd, Buffer.from('x'), 4, '127.0.0.1', 0)).toThrow(TypeError);
  });

  it('FS1 IPv6: connected to ::1 from ::1', async () => {
    const sock = dgram.createSocket('udp6');
    const ok = await new Promise<boolean>((r) => {
      sock.once('error', () => r(false));
      sock.bind(0, '::1', () => r(true));
    });
    cleanups.push(() => sock.close());
    if (!ok) return; // no IPv6 loopback here
    const f = open('', '', 6, '::1', sock.address().port, QUERY, recorder());
    expect(f.ends()).toMatchObject({ local: { address: '::1' }, remote: { address: '::1', port: sock.address().port } });
    f.close();
  });
});

describe.skipIf(noNative || notRoot)('FS1 FS2 exchanges over the native sockets (the daemon\'s path)', () => {
  const upstream = (port: number) =>
    selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [{ address: '127.0.0.1', port, origin: 'host' }] }, 1).servers[0]!;
  const ask = (name: string, mixCase = false) => {
    const r = acceptQuery(query(name), 'udp');
    if (r.kind !== 'query') throw new Error('not a query');
    return buildUpstreamQuery(r, mixCase);
  };
  const exchanger = () => {
    const ex = createExchanger({ dialers: { host: hardenedHostDialer(silentLogger()) }, clock: systemClock, logger: silentLogger() });
    cleanups.push(() => void ex.close());
    return ex;
  };

  it('FS1 300 concurrent queries: each answered on its own socket with its own ID, 0x20 echoed; nothing left open', async () => {
    const up = await startUpstream((x) => reply(x, { answers: aRecords(x, 1 + (Number(x.name.slice(1, -8)) % 5)) }));
    const ex = exchanger();
    const sent = Array.from({ length: 300 }, (_, i) => ask(`n${i}.example`, true));
    const results = await Promise.all(sent.map((q) => ex.exchange(upstream(up.port), q, 'udp', 3000)));
    results.forEach((r, i) => {
      expect(r).toMatchObject({ ok: true });
      if (r.ok) {
        expect(decode(r.bytes).answers).toHaveLength(1 + (i % 5));
        expect(r.bytes.readUInt16BE(0)).toBe(sent[i]!.bytes.readUInt16BE(0));
      }
    });
    expect(up.seen).toHaveLength(300);
    expect(new Set(up.seen.map((x) => x.id)).size).toBeGreaterThan(290);
    expect(openUpstreamSockets()).toBe(0);
  });

  it('FS2 a reply with another ID is ignored until the deadline; a silent server times out; both close their socket', async () => {
    // A raw server (the fake upstream always writes the right ID): right question, wrong ID.
    const wrongId = await udpServer();
    wrongId.sock.on('message', (msg, r) => {
      const seen = { transport: 'udp' as const, id: msg.readUInt16BE(0), name: 'a.example', asked: 'a.example', type: 'A', raw: msg };
      const bad = reply(seen, { answers: aRecords(seen) });
      bad.writeUInt16BE(seen.id ^ 0x5a5a, 0);
      wrongId.sock.send(bad, r.port, r.address);
    });
    const silent = await startUpstream(dead);
    const ex = exchanger();
    const t0 = performance.now();
    const [a, b] = await Promise.all([
      ex.exchange(upstream(wrongId.port), ask('a.example'), 'udp', 150),
      ex.exchange(upstream(silent.port), ask('b.example'), 'udp', 150),
    ]);
    expect(a).toEqual({ ok: false, reason: 'timeout' });
    expect(b).toEqual({ ok: false, reason: 'timeout' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(wrongId.got).toHaveLength(1);
    expect(openUpstreamSockets()).toBe(0);
  });

  it('FS1 a closed port fails at once as a network error (ICMP), not at the timeout; the exchanger closes what is in flight', async () => {
    const probe = await udpServer();
    const port = probe.port;
    probe.sock.close();
    cleanups.shift();
    const ex = exchanger();
    const t0 = performance.now();
    expect(await ex.exchange(upstream(port), ask('x.example'), 'udp', 3000)).toMatchObject({ ok: false, reason: 'network', error: { code: 'ECONNREFUSED' } });
    expect(performance.now() - t0).toBeLessThan(1000);
    const silent = await startUpstream(dead);
    const pending = ex.exchange(upstream(silent.port), ask('y.example'), 'udp', 5000);
    await until(() => silent.seen.length === 1);
    expect(openUpstreamSockets()).toBe(1);
    await ex.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    expect(openUpstreamSockets()).toBe(0);
  });

  it('R10 answers come back for a working server after a refused one (failover needs no socket state)', async () => {
    const good = await startUpstream(answersA());
    const ex = exchanger();
    expect((await ex.exchange(upstream(good.port), ask('z.example'), 'udp', 1000)).ok).toBe(true);
  });
});
