/** R10–R12 upstream selection and health: pure, with a FakeClock. */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { type Upstream } from '../../../resolver/index.js';
import { selectUpstreams, UpstreamHealth } from '../../../resolver/upstreams.js';
import { UpstreamSelector } from '../../../resolver/upstreams.js';
import { view } from './_helpers.js';

const host = (address: string, port = 53): Upstream => ({ address, port, origin: 'host' });
const sbx = (address: string, port = 53): Upstream => ({ address, port, origin: 'sandbox' });

describe('R10 selectUpstreams', () => {
  it('R10 drops 127.0.0.11 whatever its origin or spelling (as Docker), and unusable entries', () => {
    const s = selectUpstreams(
      { id: 'sb1', externalAccess: true, upstreams: [sbx('127.0.0.11'), host('::ffff:127.0.0.11'), host('127.000.0.11'), host('nope'), host('1.1.1.1', 0), host('9.9.9.9')] },
      3,
    );
    expect(s.servers.map((x) => x.label)).toEqual(['9.9.9.9:53']);
    expect(s.dropped).toHaveLength(5);
  });

  it('R10 keeps at most `max`, counted after the filters', () => {
    const s = selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: ['1', '2', '3', '4'].map((n) => host(`10.0.0.${n}`)) }, 3);
    expect(s.servers.map((x) => x.address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    const own = selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [sbx('127.0.0.11'), ...['1', '2', '3'].map((n) => host(`10.0.0.${n}`))] }, 3);
    expect(own.servers).toHaveLength(3);
  });

  it('R11 without external access host-origin servers are skipped, sandbox-origin ones kept', () => {
    const s = selectUpstreams({ id: 'sb1', externalAccess: false, upstreams: [host('1.1.1.1'), sbx('10.0.0.53'), host('8.8.8.8')] }, 3);
    expect(s.servers.map((x) => `${x.origin}:${x.address}`)).toEqual(['sandbox:10.0.0.53']);
    expect(s.blocked).toBe(2);
  });

  it('R13 set keys: host servers are the same everywhere, sandbox servers are per sandbox; order matters', () => {
    const a = selectUpstreams({ id: 'sbA', externalAccess: true, upstreams: [host('1.1.1.1'), sbx('10.0.0.53')] }, 3);
    const b = selectUpstreams({ id: 'sbB', externalAccess: true, upstreams: [host('1.1.1.1'), sbx('10.0.0.53')] }, 3);
    const c = selectUpstreams({ id: 'sbB', externalAccess: true, upstreams: [host('1.1.1.1')] }, 3);
    const d = selectUpstreams({ id: 'sbA', externalAccess: true, upstreams: [host('1.1.1.1')] }, 3);
    const e = selectUpstreams({ id: 'sbA', externalAccess: true, upstreams: [host('8.8.8.8'), host('1.1.1.1')] }, 3);
    const f = selectUpstreams({ id: 'sbA', externalAccess: true, upstreams: [host('1.1.1.1'), host('8.8.8.8')] }, 3);
    expect(a.key).not.toBe(b.key);
    expect(c.key).toBe(d.key);
    expect(e.key).not.toBe(f.key);
  });

  it('R10 IPv6 servers are canonical (RFC 5952) with bracketed labels; IPv4-mapped become IPv4', () => {
    const s = selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [host('2001:DB8:0:0::1', 5353), host('::ffff:8.8.4.4')] }, 3);
    expect(s.servers.map((x) => [x.address, x.family, x.label])).toEqual([
      ['2001:db8::1', 6, '[2001:db8::1]:5353'],
      ['8.8.4.4', 4, '8.8.4.4:53'],
    ]);
  });

  it('R15 UpstreamSelector recomputes only when the list or externalAccess changes', () => {
    const seen: string[] = [];
    const sel = new UpstreamSelector(3, (s) => seen.push(s.key));
    const v = { ...view([]), upstreams: [host('1.1.1.1')] };
    const first = sel.select(v);
    expect(sel.select(v)).toBe(first);
    expect(sel.select({ ...v })).toBe(first); // same array
    expect(sel.select({ ...v, upstreams: [host('1.1.1.1')] })).not.toBe(first);
    expect(sel.select({ ...v, upstreams: [host('1.1.1.1')], externalAccess: false }).servers).toHaveLength(0);
    expect(seen).toEqual(['host/1.1.1.1:53', '']);
  });
});

describe('R12 UpstreamHealth', () => {
  const servers = selectUpstreams({ id: 'sb1', externalAccess: true, upstreams: [host('10.0.0.1'), host('10.0.0.2'), host('10.0.0.3')] }, 3).servers;
  const names = (list: readonly { address: string }[]): string[] => list.map((s) => s.address.slice(-1));

  it('R12 a failed server goes last for the cool-down, then back to its place', () => {
    const clock = new FakeClock();
    const h = new UpstreamHealth(clock, 30_000);
    expect(h.order(servers)).toBe(servers); // nothing failed: no copy
    h.failed(servers[0]!);
    h.failed(servers[1]!);
    expect(names(h.order(servers))).toEqual(['3', '1', '2']);
    clock.advance(29_999);
    expect(names(h.order(servers))).toEqual(['3', '1', '2']);
    clock.advance(1);
    expect(names(h.order(servers))).toEqual(['1', '2', '3']);
  });

  it('R12 a good reply ends the cool-down; a new failure restarts it', () => {
    const clock = new FakeClock();
    const h = new UpstreamHealth(clock, 1000);
    h.failed(servers[0]!);
    h.succeeded(servers[0]!);
    expect(names(h.order(servers))).toEqual(['1', '2', '3']);
    h.failed(servers[0]!);
    clock.advance(900);
    h.failed(servers[0]!);
    clock.advance(900);
    expect(h.coolingDown(servers[0]!)).toBe(true);
  });
});
