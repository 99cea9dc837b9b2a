import { describe, expect, it } from 'vitest';
import { explainAnswer } from '../../../bin/daemon/explain.js';
import { RecordTable, type NetworkView, type ResolverView, type Upstream } from '../../../resolver/index.js';
import type { ProbeReply } from '../../../bin/daemon/dig.js';

function view(extra: Partial<ResolverView> = {}): ResolverView {
  const records = new RecordTable('n1');
  records.addEndpoint({ endpointId: 'e1', names: ['db', 'database'], ipv4: '10.9.0.3' });
  const net: NetworkView = { name: 'n1', records, ttl: 600, internal: false };
  return { id: 'web', networks: [net], linkAliases: new Map(), ndotsSet: false, upstreams: [], externalAccess: true, ...extra };
}

const reply = (status: string): ProbeReply => ({ status, flags: [], answer: [], authority: [], additional: [] });
const sandboxDns: Upstream = { address: '127.0.0.53', port: 53, origin: 'sandbox' };
const hostDns: Upstream = { address: '192.0.2.53', port: 53, origin: 'host' };

describe('resolve explanations', () => {
  it('R5 a local hit names the network, the matched name and the data', () => {
    const e = explainAnswer(view(), 'database', 'A', reply('NOERROR'), true);
    expect(e).toMatchObject({ source: 'local', network: 'n1', name: 'database', via: 'name', data: ['10.9.0.3'] });
    expect(e.summary).toContain('n1');
  });

  it('R5 a PTR hit answers name.network.', () => {
    expect(explainAnswer(view(), '3.0.9.10.in-addr.arpa', 'PTR', undefined, true)).toMatchObject({ source: 'local', data: ['db.n1.'] });
  });

  it('R6 AAAA of an IPv4-only name is NODATA, with the reason', () => {
    expect(explainAnswer(view(), 'db', 'AAAA', reply('NOERROR'), true)).toMatchObject({ source: 'nodata', network: 'n1', reason: 'no-data-of-type' });
  });

  it('R9 a single-label miss with ndots is NODATA (single-label)', () => {
    expect(explainAnswer(view({ ndotsSet: true }), 'nothere', 'A', reply('NOERROR'), true)).toMatchObject({ source: 'nodata', reason: 'single-label' });
  });

  it('R10 a miss without upstreams is SERVFAIL, saying there are none', () => {
    const e = explainAnswer(view(), 'example.org', 'A', reply('SERVFAIL'), true);
    expect(e).toMatchObject({ source: 'servfail', upstreams: [] });
    expect(e.summary).toMatch(/no upstream servers.*SERVFAIL/);
  });

  it('R11 host-side servers do not count for a sandbox on internal networks only', () => {
    const e = explainAnswer(view({ upstreams: [hostDns], externalAccess: false }), 'example.org', 'A', reply('SERVFAIL'), true);
    expect(e.source).toBe('servfail');
    expect(e.summary).toContain('internal networks only');
  });

  it('R10 a forwarded answer names the upstream that answered; a failed one says every server failed', () => {
    const ok = explainAnswer(view({ upstreams: [sandboxDns] }), 'example.org', 'A', reply('NXDOMAIN'), true);
    expect(ok).toMatchObject({ source: 'upstream', upstreams: ["127.0.0.53 (from the sandbox's namespace)"] });
    expect(ok.summary).toMatch(/answered by 127\.0\.0\.53.*relayed as NXDOMAIN/);
    const bad = explainAnswer(view({ upstreams: [sandboxDns, hostDns] }), 'example.org', 'A', reply('SERVFAIL'), true);
    expect(bad.source).toBe('servfail');
    expect(bad.summary).toMatch(/127\.0\.0\.53.*192\.0\.2\.53.*every server/);
  });

  it('R10 a daemon without forwarding says so instead of blaming the upstreams', () => {
    expect(explainAnswer(view({ upstreams: [sandboxDns] }), 'example.org', 'A', reply('SERVFAIL'), false).summary).toMatch(/does not forward/);
  });
});
