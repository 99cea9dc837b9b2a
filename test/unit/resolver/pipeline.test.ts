import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/log.js';
import { createResolver } from '../../../resolver/index.js';
import { errorReply, type Handler, type Reply } from '../../../resolver/pipeline.js';
import { RCODE } from '../../../resolver/constants.js';
import { decode, network, query, sinkLogger, view } from './_helpers.js';

const v = view([network('net1', [{ endpointId: 'w', names: ['web'], ipv4: '10.0.0.2' }])], { ndotsSet: true });

/** An upstream-style reply for `name` with its own ID, as a forwarder would get it. */
function upstreamReply(name: string, id = 999, rcode: 'NOERROR' | 'NXDOMAIN' = 'NXDOMAIN'): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (rcode === 'NXDOMAIN' ? 3 : 0),
    questions: [{ name, type: 'A', class: 'IN' }],
  });
}

describe('pipeline (G4, G8; Docker)', () => {
  it('R10 a miss runs the inserted stages in order; local answers and NODATA never reach them', () => {
    const seen: string[] = [];
    const spy =
      (tag: string): Handler =>
      (q, next) => {
        seen.push(`${tag}:${q.lname}`);
        return next(q);
      };
    const r = createResolver({ view: v, logger: silentLogger(), stages: [spy('cache'), spy('forward')] });
    expect(decode(r.handle(query('web'), 'udp') as Buffer).rcode).toBe('NOERROR');
    expect(decode(r.handle(query('web', 'TXT'), 'udp') as Buffer).rcode).toBe('NOERROR');
    expect(decode(r.handle(query('single'), 'udp') as Buffer).rcode).toBe('NOERROR');
    expect(decode(r.handle(query('example.com'), 'udp') as Buffer).rcode).toBe('SERVFAIL');
    expect(seen).toEqual(['cache:example.com', 'forward:example.com']);
  });

  it('R10 a relayed reply is sent verbatim except its ID, which becomes the query ID', () => {
    const upstream = upstreamReply('example.com');
    const copy = Buffer.from(upstream);
    const r = createResolver({ view: v, logger: silentLogger(), stages: [() => ({ kind: 'relay', bytes: upstream, outcome: 'forwarded' })] });
    const out = r.handle(query('example.com', 'A', { id: 4242 }), 'udp') as Buffer;
    expect(out.readUInt16BE(0)).toBe(4242);
    expect(out.subarray(2)).toEqual(upstream.subarray(2));
    expect(upstream).toEqual(copy); // not owned: the stage's buffer is left alone
    expect(decode(out).rcode).toBe('NXDOMAIN');
    expect(r.metrics.snapshot().outcomes.forwarded).toBe(1);
  });

  it('R13 an owned relay buffer is rewritten in place (no copy for the cache)', () => {
    const upstream = upstreamReply('example.com', 1, 'NOERROR');
    const r = createResolver({ view: v, logger: silentLogger(), stages: [() => ({ kind: 'relay', bytes: upstream, outcome: 'cached', owned: true })] });
    const out = r.handle(query('example.com', 'A', { id: 7 }), 'tcp');
    expect(out).toBe(upstream);
    expect(upstream.readUInt16BE(0)).toBe(7);
  });

  it('R10 an async stage yields a promise; a local hit stays synchronous beside it', async () => {
    const later: Handler = async (q) => errorReply(q, RCODE.REFUSED);
    const r = createResolver({ view: v, logger: silentLogger(), stages: [later] });
    expect(r.handle(query('web'), 'udp')).toBeInstanceOf(Buffer);
    const pending = r.handle(query('example.com'), 'udp');
    expect(pending).toBeInstanceOf(Promise);
    expect(decode(await pending).rcode).toBe('REFUSED');
  });

  it.each([
    {
      label: 'throws',
      stage: (): Reply => {
        throw new Error('boom');
      },
    },
    { label: 'rejects', stage: async (): Promise<Reply> => Promise.reject(new Error('boom')) },
    { label: 'relays a runt', stage: (): Reply => ({ kind: 'relay', bytes: Buffer.alloc(5), outcome: 'forwarded' }) },
  ])('G8 a stage that $label gives SERVFAIL (RA=0) and exactly one warning', async ({ stage }) => {
    const { logger, lines } = sinkLogger('warn');
    const r = createResolver({ view: v, logger, stages: [stage] });
    const d = decode(await r.handle(query('example.com', 'A', { id: 5 }), 'udp'));
    expect(d).toMatchObject({ id: 5, rcode: 'SERVFAIL', flag_ra: false });
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(r.metrics.snapshot().outcomes.error).toBe(1);
  });

  it('R10 a stage may drop a query: nothing is sent, outcome dropped', () => {
    const r = createResolver({ view: v, logger: silentLogger(), stages: [() => ({ kind: 'drop' })] });
    expect(r.handle(query('example.com'), 'udp')).toBeUndefined();
    expect(r.metrics.snapshot().outcomes.dropped).toBe(1);
  });

  it('R16 every query is counted by type, rcode and outcome, with its latency', () => {
    const clock = new FakeClock(1000);
    const slow: Handler = (q) => {
      clock.advance(3); // 3 ms spent upstream
      return { kind: 'relay', bytes: upstreamReply(q.name), outcome: 'forwarded' };
    };
    const r = createResolver({ view: v, logger: silentLogger(), clock, stages: [slow] });
    r.handle(query('web'), 'udp');
    r.handle(query('web', 'AAAA'), 'udp');
    r.handle(query('example.com'), 'udp');
    r.handle(Buffer.from('garbage!!!'), 'udp');
    r.handle(Buffer.from('0123456789abcdef'), 'udp');
    const s = r.metrics.snapshot();
    expect(s.queries).toEqual({ A: 2, AAAA: 1 });
    expect(s.outcomes).toEqual({ local: 1, nodata: 1, forwarded: 1, cached: 0, error: 1, dropped: 1 });
    expect(s.rcodes).toEqual({ NOERROR: 2, NXDOMAIN: 1, NOTIMP: 1 });
    expect(s.latency.count).toBe(5);
    expect(s.latency.sum).toBeCloseTo(0.003, 9);
    expect(s.latency.buckets[5]).toBe(4); // le=0.0025: all but the 3 ms one
    expect(s.latency.buckets[6]).toBe(5); // le=0.005
  });

  it('R16 at debug level each query is logged once with name, type, rcode and outcome', () => {
    const { logger, lines } = sinkLogger('debug');
    const r = createResolver({ view: v, logger });
    r.handle(query('WEB'), 'tcp');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'query', name: 'WEB.', qtype: 'A', rcode: 0, outcome: 'local', transport: 'tcp', sandbox: 'sb1' });
  });
});
