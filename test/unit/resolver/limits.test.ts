/** R14 in-flight cap and rate-limited logging (pino sink, FakeClock). */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/log.js';
import { createResolver, type SharedCache } from '../../../resolver/index.js';
import { RateLimitedLog } from '../../../resolver/limits.js';
import { decode, query, sinkLogger, view } from './_helpers.js';
import { aRecords, closeAll, forwardingRig, reply, startUpstream, type Behaviour } from './_upstream.js';

afterEach(closeAll);

const slow =
  (ms: number): Behaviour =>
  (q) =>
    new Promise((res) => setTimeout(() => res(reply(q, { answers: aRecords(q) })), ms));

describe('R14 RateLimitedLog', () => {
  it('R14 at most one line per interval; the next line carries how many were suppressed', () => {
    const clock = new FakeClock();
    const lines: number[] = [];
    const log = new RateLimitedLog(clock, 2000, (n) => lines.push(n));
    for (let i = 0; i < 10; i++) log.hit();
    expect(lines).toEqual([0]);
    clock.advance(1999);
    log.hit();
    expect(lines).toEqual([0]);
    clock.advance(1);
    expect(log.hit()).toBe(true);
    expect(lines).toEqual([0, 10]);
  });
});

describe('R14 in-flight cap', () => {
  it('R14 over the cap a query is REFUSED at once, with one warning per 2 s', async () => {
    const up = await startUpstream(slow(150));
    const { logger, lines } = sinkLogger('info');
    // Generous upstream timeouts: on a loaded machine the 150 ms upstream must not time out (the cap is what is tested).
    const rig = forwardingRig([up.upstream()], { logger, cache: false, options: { maxInFlight: 4, timeoutMs: 3000, budgetMs: 4000 } });
    const t0 = performance.now();
    const refusedAt: number[] = [];
    const answeredAt: number[] = [];
    const all = Array.from({ length: 10 }, (_, i) =>
      rig.ask(query(`n${i}.example`)).then((r) => {
        (decode(r).rcode === 'REFUSED' ? refusedAt : answeredAt).push(performance.now() - t0);
        return decode(r).rcode;
      }),
    );
    expect(rig.inflight()).toBe(4);
    const rcodes = await Promise.all(all);
    expect(rcodes.filter((r) => r === 'NOERROR')).toHaveLength(4);
    expect(rcodes.filter((r) => r === 'REFUSED')).toHaveLength(6);
    // Never waits for a slot: every refusal comes before the first upstream answer (150 ms away).
    expect(Math.max(...refusedAt)).toBeLessThan(Math.min(...answeredAt));
    expect(up.seen).toHaveLength(4);
    const warnings = lines.filter((l) => String(l.msg).includes('concurrent upstream queries'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, max: 4, suppressed: 0 });
    expect(rig.metrics.snapshot().forwarding.inflight_refused).toBe(6);
    expect(rig.inflight()).toBe(0);
    expect(decode(await rig.ask(query('after.example'))).rcode).toBe('NOERROR');
  });

  it('R14 the next warning after the interval reports the suppressed count (FakeClock)', async () => {
    const up = await startUpstream(slow(100));
    const clock = new FakeClock();
    const { logger, lines } = sinkLogger('info');
    const rig = forwardingRig([up.upstream()], { logger, clock, cache: false, options: { maxInFlight: 1 } });
    const first = rig.ask(query('a.example'));
    for (let i = 0; i < 5; i++) await rig.ask(query(`r${i}.example`));
    clock.advance(2000);
    await rig.ask(query('late.example'));
    await first;
    const warnings = lines.filter((l) => String(l.msg).includes('concurrent upstream queries'));
    expect(warnings.map((w) => w.suppressed)).toEqual([0, 4]);
  });

  it('R14 local answers, cache hits and coalesced queries take no slot', async () => {
    const up = await startUpstream(slow(100));
    const rig = forwardingRig([up.upstream()], { options: { maxInFlight: 1 } });
    await rig.ask(query('cached.example'));
    const busy = rig.ask(query('busy.example'));
    const twin = rig.ask(query('busy.example'));
    expect(decode(await rig.ask(query('web'))).answers?.[0]?.data).toBe('10.0.0.2');
    expect(decode(await rig.ask(query('cached.example'))).rcode).toBe('NOERROR');
    expect(decode(await rig.ask(query('other.example'))).rcode).toBe('REFUSED');
    expect(decode(await twin).rcode).toBe('NOERROR');
    expect(decode(await busy).rcode).toBe('NOERROR');
  });

  it('R14 bad limits are rejected with ERR_INVALID_OPTION naming the field', () => {
    const v = view([]);
    const make = (options: Record<string, unknown>) => () => createResolver({ view: v, logger: silentLogger(), forwarding: { options } });
    expect(make({ maxInFlight: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', details: { field: 'options.maxInFlight' } }));
    expect(make({ timeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(make({ coalesce: 'yes' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(make({ bogus: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => createResolver({ view: v, logger: silentLogger(), forwarding: { cache: {} as SharedCache } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', details: { field: 'cache' } }),
    );
  });
});
