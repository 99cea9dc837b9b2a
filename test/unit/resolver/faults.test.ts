/**
 * R10–R12 fault modes against fake upstreams on loopback: dead servers,
 * REFUSED, budgets, TC then TCP, cool-down, closing with queries in flight.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { decode, query } from './_helpers.js';
import { aRecords, answersA, closeAll, dead, forwardingRig, rcodeOnly, reply, serveLive, startUpstream } from './_upstream.js';

afterEach(closeAll);

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

/** A TCP port on loopback with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

describe('R12 timeouts and failover', () => {
  it('R12 a dead first server times out after the per-server timeout; the next answers', async () => {
    const deadUp = await startUpstream(dead);
    const good = await startUpstream(answersA());
    const rig = forwardingRig([deadUp.upstream(), good.upstream()], { options: { timeoutMs: 200 } });
    const { value, ms } = await timed(rig.ask(query('example.com')));
    expect(decode(value).rcode).toBe('NOERROR');
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(600);
    expect(deadUp.seen).toHaveLength(1);
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${deadUp.port} timeout`]: 1 });
  });

  it('R10 REFUSED fails over to the next server (as Docker)', async () => {
    const refusing = await startUpstream(rcodeOnly('REFUSED'));
    const good = await startUpstream(answersA());
    const rig = forwardingRig([refusing.upstream(), good.upstream()]);
    expect(decode(await rig.ask(query('example.com'))).rcode).toBe('NOERROR');
    expect([refusing.seen.length, good.seen.length]).toEqual([1, 1]);
  });

  it('R12 all servers dead → SERVFAIL within the per-query budget', async () => {
    const ups = await Promise.all([1, 2, 3].map(() => startUpstream(dead)));
    const rig = forwardingRig(
      ups.map((u) => u.upstream()),
      { options: { timeoutMs: 200, budgetMs: 450 } },
    );
    const { value, ms } = await timed(rig.ask(query('example.com')));
    expect(decode(value).rcode).toBe('SERVFAIL');
    expect(ms).toBeGreaterThanOrEqual(440);
    expect(ms).toBeLessThan(800);
    expect(ups.map((u) => u.seen.length)).toEqual([1, 1, 1]); // the third got the 50 ms left
  });

  it('R12 TCP: a refused connection fails over at once; a silent server times out', async () => {
    const port = await closedPort();
    const silent = await startUpstream(dead);
    const good = await startUpstream(answersA(2));
    const rig = forwardingRig(
      [{ address: '127.0.0.1', port, origin: 'host' }, silent.upstream(), good.upstream()],
      { options: { timeoutMs: 200 } },
    );
    const { value, ms } = await timed(rig.ask(query('example.com'), 'tcp'));
    expect(decode(value).answers).toHaveLength(2);
    expect(ms).toBeLessThan(600);
    const failures = rig.metrics.snapshot().upstreamFailures;
    expect(failures[`127.0.0.1:${port} network`]).toBe(1);
    expect(failures[`127.0.0.1:${silent.port} timeout`]).toBe(1);
  });

  it('R10 TC over UDP reaches a live client as is; its TCP retry is forwarded over TCP and answered', async () => {
    const up = await startUpstream((q) => (q.transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: aRecords(q, 60) })));
    const rig = forwardingRig([up.upstream()]);
    const live = await serveLive(rig);
    const udp = decode(await live.udpAsk(query('big.example', 'A', { id: 11 })));
    expect(udp.flag_tc).toBe(true);
    expect(udp.id).toBe(11);
    const tcp = decode(await live.tcpAsk(query('big.example', 'A', { id: 12 })));
    expect(tcp.id).toBe(12);
    expect(tcp.answers).toHaveLength(60);
    expect(up.seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
  });

  it('R12 closing the stages ends a query in flight with SERVFAIL at once', async () => {
    const deadUp = await startUpstream(dead);
    const rig = forwardingRig([deadUp.upstream()], { options: { timeoutMs: 5000, budgetMs: 5000 } });
    const pending = timed(rig.ask(query('example.com')));
    await new Promise((r) => setTimeout(r, 30));
    await rig.close();
    const { value, ms } = await pending;
    expect(decode(value).rcode).toBe('SERVFAIL');
    expect(ms).toBeLessThan(1000);
  });
});

describe('R12 cool-down', () => {
  it('R12 a server that failed is tried last until the cool-down passes (FakeClock)', async () => {
    const clock = new FakeClock(1_000_000);
    const flaky = await startUpstream(rcodeOnly('REFUSED'));
    const good = await startUpstream(answersA());
    const rig = forwardingRig([flaky.upstream(), good.upstream()], { clock, cache: false, options: { cooldownMs: 30_000 } });
    const order = (): string[] =>
      [...flaky.seen.map((s) => ({ s, who: 'flaky' })), ...good.seen.map((s) => ({ s, who: 'good' }))].map((x) => x.who);
    expect(decode(await rig.ask(query('a.example'))).rcode).toBe('NOERROR');
    expect(order()).toEqual(['flaky', 'good']);
    clock.advance(29_000);
    expect(decode(await rig.ask(query('b.example'))).rcode).toBe('NOERROR');
    expect(flaky.seen).toHaveLength(1); // held back: the good server answered first
    clock.advance(1_000);
    expect(decode(await rig.ask(query('c.example'))).rcode).toBe('NOERROR');
    expect(flaky.seen).toHaveLength(2); // cool-down over: first again
    expect(good.seen).toHaveLength(3);
  });

  it('R12 a dead first server costs one timeout, not one per query (as Docker)', async () => {
    const deadUp = await startUpstream(dead);
    const good = await startUpstream(answersA());
    const rig = forwardingRig([deadUp.upstream(), good.upstream()], { cache: false, options: { timeoutMs: 200 } });
    await rig.ask(query('a.example'));
    const { value, ms } = await timed(rig.ask(query('b.example')));
    expect(decode(value).rcode).toBe('NOERROR');
    expect(ms).toBeLessThan(150);
    expect(deadUp.seen).toHaveLength(1);
  });

  it('R12 when every server is in cool-down they are still tried, in configured order', async () => {
    const clock = new FakeClock();
    const a = await startUpstream(rcodeOnly('REFUSED'));
    const b = await startUpstream((q, n) => (n === 1 ? reply(q, { rcode: 'REFUSED' }) : reply(q, { answers: aRecords(q) })));
    const rig = forwardingRig([a.upstream(), b.upstream()], { clock, cache: false });
    expect(decode(await rig.ask(query('a.example'))).rcode).toBe('SERVFAIL');
    expect(decode(await rig.ask(query('b.example'))).rcode).toBe('NOERROR');
    expect([a.seen.length, b.seen.length]).toEqual([2, 2]);
  });
});
