/**
 * R10–R11 forwarding against fake upstreams on loopback, including Docker's
 * resolver tests (docker-reference §4.1–4.3, §4.10).
 */
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { renderPrometheus, type UdpSink } from '../../../resolver/index.js';
import { matchesQuestion } from '../../../resolver/forward.js';
import { decode, query } from './_helpers.js';
import { aRecords, answersA, closeAll, dead, forwardingRig, rcodeOnly, reply, rootSoa, startUpstream, type Seen } from './_upstream.js';

afterEach(closeAll);

/** Docker's canned reply: 546 bytes, no EDNS, 32 A records for s3.amazonaws.com, compressed owners. */
function oversized(q: Seen): Buffer {
  const head = Buffer.from(q.raw.subarray(0, 12));
  head.writeUInt16BE(0x8180, 2); // QR, RD, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(32, 6);
  head.writeUInt32BE(0, 8);
  const question = Buffer.from([2, ...Buffer.from('s3'), 9, ...Buffer.from('amazonaws'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1]);
  const records = Array.from({ length: 32 }, (_, i) =>
    Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, i < 16 ? 52 : 54, i < 16 ? 217 : 231, i, 157]),
  );
  return Buffer.concat([head, question, ...records]);
}

describe('R10 forwarding (Docker §4.1–4.3)', () => {
  it('R10 FS6 TestOversizedDNSReply: a 546-byte reply to a non-EDNS client is received whole, relayed cut to 512 with TC; whole over TCP (moby#44575)', async () => {
    const up = await startUpstream(oversized);
    const rig = forwardingRig([up.upstream()]);
    const out = await rig.ask(query('s3.amazonaws.com', 'A', { id: 77 }));
    expect(out).toHaveLength(12 + 22 + 29 * 16); // whole records only: a 30th would end at 514
    const cut = decode(out);
    expect(cut.id).toBe(77);
    expect(cut.flag_tc).toBe(true);
    expect(cut.answers!.length).toBe(29);
    const whole = await rig.ask(query('s3.amazonaws.com', 'A', { id: 77 }), 'tcp');
    expect(whole).toHaveLength(546);
    const d = decode(whole);
    expect(d.flag_tc).toBe(false);
    expect(d.rcode).toBe('NOERROR');
    expect(d.answers).toHaveLength(32);
    expect(d.answers?.[0]?.type).toBe('A');
    expect(whole!.subarray(2)).toEqual(oversized(up.seen.at(-1)!).subarray(2));
  });

  it('R10 TestProxyNXDOMAIN: NXDOMAIN and the exact SOA are relayed verbatim (pain point 2)', async () => {
    const up = await startUpstream((q) => {
      const r = reply(q, { rcode: 'NXDOMAIN', authorities: [rootSoa()] });
      r[2] = r[2]! & ~0x04; // AA not set
      return r;
    });
    const rig = forwardingRig([up.upstream()]);
    const out = await rig.ask(query('example.net', 'A', { id: 9 }));
    const d = decode(out);
    expect(d.rcode).toBe('NXDOMAIN');
    expect(d.answers).toHaveLength(0);
    expect(d.authorities).toHaveLength(1);
    expect(d.authorities?.[0]).toMatchObject({ name: '.', type: 'SOA', ttl: 86367 });
    expect(d.authorities?.[0]?.data).toEqual({
      mname: 'a.root-servers.net',
      rname: 'nstld.verisign-grs.com',
      serial: 2023051800,
      refresh: 1800,
      retry: 900,
      expire: 604800,
      minimum: 86400,
    });
    const sent = reply(up.seen[0]!, { rcode: 'NXDOMAIN', authorities: [rootSoa()] });
    sent[2] = sent[2]! & ~0x04;
    const asked = query('example.net', 'A', { id: 9 });
    asked.copy(sent, 12, 12, asked.length - 4); // the question as the client asked it (FS6), not in our 0x20 case
    expect(out!.subarray(2)).toEqual(sent.subarray(2)); // byte for byte but the ID
    expect(rig.metrics.snapshot().outcomes.forwarded).toBe(1);
  });

  it.each([
    ['true', true],
    ['false', false],
  ])('R10 TestReplySERVFAIL ProxyDNS=%s: no servers configured → SERVFAIL', async (_label, external) => {
    const rig = forwardingRig([], { view: { externalAccess: external } });
    const d = decode(await rig.ask(query('example.com')));
    expect(d.rcode).toBe('SERVFAIL');
    expect(d.flag_ra).toBe(false);
  });

  it.each(['udp', 'tcp'] as const)('R10 TestDNSProxyServFail (%s): first SERVFAIL then success → exactly 2 upstream requests', async (transport) => {
    const up = await startUpstream((q, n) => (n === 1 ? reply(q, { rcode: 'SERVFAIL' }) : reply(q, { answers: aRecords(q) })));
    const rig = forwardingRig([up.upstream(), up.upstream()]);
    const d = decode(await rig.ask(query('name1'), transport));
    expect(d.rcode).toBe('NOERROR');
    expect(up.seen).toHaveLength(2);
    expect(up.seen.every((s) => s.transport === transport)).toBe(true);
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${up.port} servfail`]: 1 });
  });

  it('R10 TestIntDNSAsExtDNS: 127.0.0.11 alone → SERVFAIL; with a second good server → answered', async () => {
    const up = await startUpstream(answersA());
    const own = { address: '127.0.0.11', port: 53, origin: 'sandbox' as const };
    const alone = forwardingRig([own]);
    expect(decode(await alone.ask(query('example.com'))).rcode).toBe('SERVFAIL');
    const both = forwardingRig([own, up.upstream()]);
    const d = decode(await both.ask(query('example.com')));
    expect(d.rcode).toBe('NOERROR');
    expect(d.answers?.[0]?.data).toBe('10.1.0.0');
  });

  it('R10 a local name never reaches the upstream (R6); a miss does, once', async () => {
    const up = await startUpstream(answersA());
    const rig = forwardingRig([up.upstream()]);
    expect(decode(await rig.ask(query('web', 'AAAA'))).rcode).toBe('NOERROR');
    expect(decode(await rig.ask(query('example.org'))).answers).toHaveLength(1);
    expect(up.seen.map((s) => s.name.toLowerCase())).toEqual(['example.org']);
  });

  it('R10 FORMERR and other rcodes but SERVFAIL/REFUSED are final (as Docker)', async () => {
    const first = await startUpstream(rcodeOnly('FORMERR'));
    const second = await startUpstream(answersA());
    const rig = forwardingRig([first.upstream(), second.upstream()]);
    expect(decode(await rig.ask(query('example.com'))).rcode).toBe('FORMERR');
    expect(second.seen).toHaveLength(0);
  });

  it('R10 a TC reply is relayed as is; the client retry over TCP is forwarded over TCP (as Docker)', async () => {
    const up = await startUpstream((q) => (q.transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: aRecords(q, 40) })));
    const rig = forwardingRig([up.upstream()]);
    const udp = decode(await rig.ask(query('big.example')));
    expect(udp.flag_tc).toBe(true);
    const tcp = decode(await rig.ask(query('big.example'), 'tcp'));
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(40);
    expect(up.seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
  });

  it('R10 upstream query IDs are random, not the client ID; the client gets its own ID back', async () => {
    const up = await startUpstream(answersA());
    const rig = forwardingRig([up.upstream()], { cache: false });
    for (let i = 0; i < 20; i++) expect(decode(await rig.ask(query(`n${i}.example`, 'A', { id: 4242 }))).id).toBe(4242);
    const ids = new Set(up.seen.map((s) => s.id));
    expect(ids.has(4242) && ids.size === 1).toBe(false);
    expect(ids.size).toBeGreaterThan(15);
  });

  it('R10 RFC 5452: a reply for another question is ignored until a matching one or the deadline', async () => {
    const up = await startUpstream((q) => {
      const forged = dnsPacket.encode({ type: 'response', id: q.id, questions: [{ name: 'evil.example', type: 'A', class: 'IN' }] });
      return forged;
    });
    const second = await startUpstream(answersA());
    const rig = forwardingRig([up.upstream(), second.upstream()], { options: { timeoutMs: 150 } });
    const d = decode(await rig.ask(query('good.example')));
    expect(d.rcode).toBe('NOERROR');
    expect(d.answers?.[0]?.name).toBe('good.example');
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${up.port} timeout`]: 1 });
  });

  it('R10 matchesQuestion ignores ASCII case of the name, not of type or class; question-less errors match', () => {
    const q = query('MiXed.Example', 'A');
    const qe = q.length;
    const r = Buffer.from(q);
    r[2] = 0x81;
    r.write('mixed', 13, 'latin1');
    expect(matchesQuestion(r, q, qe)).toBe(true);
    r[qe - 3] = 28; // AAAA
    expect(matchesQuestion(r, q, qe)).toBe(false);
    const bare = Buffer.from([0, 0, 0x81, 0x05, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(matchesQuestion(bare, q, qe)).toBe(true);
    bare[3] = 0x80; // NOERROR without a question
    expect(matchesQuestion(bare, q, qe)).toBe(false);
    const notReply = Buffer.from(r);
    notReply[2] = 0x01;
    expect(matchesQuestion(notReply, q, qe)).toBe(false);
  });
});

describe('R11 which servers, from where', () => {
  it('R11 without external access host-origin servers are skipped, sandbox-origin ones still used (as Docker)', async () => {
    const host = await startUpstream(answersA());
    const own = await startUpstream(answersA(2));
    const onlyHost = forwardingRig([host.upstream('host')], { view: { externalAccess: false } });
    expect(decode(await onlyHost.ask(query('example.com'))).rcode).toBe('SERVFAIL');
    expect(host.seen).toHaveLength(0);
    // The sandbox dialer here is the host one: what matters is that it is asked for the 'sandbox' origin.
    const origins: string[] = [];
    const { hostDialer } = await import('../../../resolver/io/dialer.js');
    const spy = {
      udpQuery: (origin: 'host' | 'sandbox', address: string, port: number, family: 4 | 6, bytes: Buffer, sink: UdpSink) => (origins.push(origin), hostDialer.udpQuery(origin, address, port, family, bytes, sink)),
      tcpConnect: hostDialer.tcpConnect,
    };
    const mixed = forwardingRig([host.upstream('host'), own.upstream('sandbox')], {
      view: { externalAccess: false },
      dialers: { host: hostDialer, sandbox: spy },
    });
    expect(decode(await mixed.ask(query('example.com'))).answers).toHaveLength(2);
    expect(origins).toEqual(['sandbox']);
  });

  it('R11 a sandbox-origin server without a sandbox dialer fails over to the next server', async () => {
    const own = await startUpstream(answersA());
    const host = await startUpstream(answersA(3));
    const rig = forwardingRig([own.upstream('sandbox'), host.upstream('host')]);
    expect(decode(await rig.ask(query('example.com'))).answers).toHaveLength(3);
    expect(own.seen).toHaveLength(0);
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${own.port} no-dialer`]: 1 });
  });

  /**
   * A sandbox dialer that throws (its namespace file gone, no descriptor left: the native helper throws
   * synchronously) or rejects, on either transport. The exchange must end as a failure of that server and the
   * next one answer; with that server alone, SERVFAIL. Before, a synchronous throw on TCP rejected the exchange,
   * which the hedged race left unhandled: the daemon died (Node's default for an unhandled rejection).
   */
  it.each([
    ['udp', 'throws'], ['udp', 'rejects'], ['tcp', 'throws'], ['tcp', 'rejects'],
  ] as const)('R11 over %s, a sandbox dialer that %s fails over to the next server, or SERVFAIL alone', async (transport, how) => {
    const own = await startUpstream(answersA());
    const host = await startUpstream(answersA(3));
    const { hostDialer } = await import('../../../resolver/io/dialer.js');
    const broken = (): never => {
      throw Object.assign(new Error('setns: No such file or directory'), { code: 'ENOENT' });
    };
    const failing = {
      udpQuery: how === 'throws' ? broken : () => Promise.reject(new Error('EMFILE')),
      tcpConnect: how === 'throws' ? broken : () => Promise.reject(new Error('EMFILE')),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const servers of [[own.upstream('sandbox'), host.upstream('host')], [host.upstream('host'), own.upstream('sandbox')]]) {
        const rig = forwardingRig(servers, { dialers: { host: hostDialer, sandbox: failing } });
        // The host server answers whichever comes first: the sandbox one fails at once, or is never needed.
        expect(decode(await rig.ask(query('example.com'), transport)).answers).toHaveLength(3);
      }
      const alone = forwardingRig([own.upstream('sandbox')], { dialers: { host: hostDialer, sandbox: failing } });
      expect(decode(await alone.ask(query('example.com'), transport)).rcode).toBe('SERVFAIL');
      expect(alone.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${own.port} network`]: 1 });
      await new Promise((r) => setTimeout(r, 20)); // an unhandled rejection is reported after the microtasks
      expect(unhandled).toEqual([]);
      expect(own.seen).toHaveLength(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('R10 at most 3 servers by default, configurable', async () => {
    const bad = await Promise.all([1, 2, 3].map(() => startUpstream(rcodeOnly('REFUSED'))));
    const good = await startUpstream(answersA());
    const servers = [...bad.map((b) => b.upstream()), good.upstream()];
    expect(decode(await forwardingRig(servers).ask(query('example.com'))).rcode).toBe('SERVFAIL');
    expect(good.seen).toHaveLength(0);
    expect(decode(await forwardingRig(servers, { options: { maxUpstreams: 4 } }).ask(query('example.com'))).rcode).toBe('NOERROR');
  });

  it('R10 an upstream with an unusable address is dropped; none left → SERVFAIL', async () => {
    const up = await startUpstream(dead);
    const rig = forwardingRig([{ ...up.upstream(), address: 'not-an-ip' }]);
    expect(decode(await rig.ask(query('example.com'))).rcode).toBe('SERVFAIL');
    expect(up.seen).toHaveLength(0);
  });
});

describe('R16 forwarding counters', () => {
  it('R16 queries and failures by server, cache and cap events render as valid Prometheus text', async () => {
    const refusing = await startUpstream(rcodeOnly('REFUSED'));
    const good = await startUpstream(answersA());
    const rig = forwardingRig([refusing.upstream(), good.upstream()]);
    await rig.ask(query('a.example'));
    await rig.ask(query('a.example'));
    const text = renderPrometheus([rig.metrics]);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$/;
    for (const line of text.trimEnd().split('\n')) if (!line.startsWith('# ')) expect(line).toMatch(sample);
    const r = `127.0.0.1:${refusing.port}`;
    const g = `127.0.0.1:${good.port}`;
    expect(text).toContain(`sandns_resolver_upstream_queries_total{sandbox="sb1",server="${r}"} 1`);
    expect(text).toContain(`sandns_resolver_upstream_queries_total{sandbox="sb1",server="${g}"} 1`);
    expect(text).toContain(`sandns_resolver_upstream_failures_total{sandbox="sb1",server="${r}",reason="refused"} 1`);
    expect(text).toContain(`sandns_resolver_upstream_errors_total{sandbox="sb1",server="${r}"} 1`);
    expect(text).toContain('sandns_resolver_forwarding_events_total{sandbox="sb1",event="cache_hit"} 1');
    expect(text).toContain('sandns_resolver_outcomes_total{sandbox="sb1",outcome="cached"} 1');
  });
});
