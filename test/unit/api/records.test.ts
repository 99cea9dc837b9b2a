import { describe, expect, it } from 'vitest';
import { normalizeQuestion, recordRows, reverseName } from '../../../api/index.js';
import { FakeNetwork, FakeSandbox } from './routes-fake.js';

describe('records listing', () => {
  it('R5 reverse names: in-addr.arpa and nibble ip6.arpa, one trailing dot', () => {
    expect(reverseName('10.9.0.2')).toBe('2.0.9.10.in-addr.arpa.');
    expect(reverseName('fd00::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.');
    expect(reverseName('not-an-ip')).toBe('not-an-ip');
  });

  it('R5 a question is normalised once: type upper-cased, default A, PTR of an address → its reverse name', () => {
    expect(normalizeQuestion('db', undefined)).toEqual({ name: 'db', type: 'A' });
    expect(normalizeQuestion('db.', 'aaaa')).toEqual({ name: 'db.', type: 'AAAA' });
    expect(normalizeQuestion('fd00::1', 'PTR').name).toMatch(/\.ip6\.arpa\.$/);
    expect(normalizeQuestion('10.0.0.1', 'A')).toEqual({ name: '10.0.0.1', type: 'A' });
    expect(normalizeQuestion('x', 'TYPE65')).toEqual({ name: 'x', type: 'TYPE65' });
    expect(normalizeQuestion('.', 'NS')).toEqual({ name: '.', type: 'NS' });
    expect(normalizeQuestion(`${'a'.repeat(63)}.b`, 'A').name).toHaveLength(65);
    for (const [n, t] of [['', 'A'], ['a\nb', 'A'], ['x', '1A'], ['x', 'A B'], [42, 'A'], ['a..b', 'A'], ['.a', 'A'], ['a..', 'A'], [`${'a'.repeat(64)}.b`, 'A']]) {
      expect(() => normalizeQuestion(n, t)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });

  it('R5 every name, alias and hostname with its kind, each address once as PTR to the first name', async () => {
    const net = new FakeNetwork('n1', {}, true);
    const sb = new FakeSandbox('web', { hostname: 'webhost' });
    const ep = await net.createEndpoint('web', { aliases: ['www'] });
    await ep.join(sb);
    const rows = recordRows(net);
    const fwd = rows.filter((r) => r.type !== 'PTR').map((r) => `${r.name} ${r.type} ${r.value} ${r.kind}`);
    expect(fwd).toEqual([
      'web A 10.9.0.2 name', 'web AAAA fd00::3 name',
      'www A 10.9.0.2 alias', 'www AAAA fd00::3 alias',
      'webhost A 10.9.0.2 hostname', 'webhost AAAA fd00::3 hostname',
    ]);
    const ptr = rows.filter((r) => r.type === 'PTR');
    expect(ptr.map((r) => [r.name.split('.').slice(-3).join('.'), r.value, r.endpoint, r.sandbox])).toEqual([
      ['in-addr.arpa.', 'web.n1.', 'web', 'web'],
      ['ip6.arpa.', 'web.n1.', 'web', 'web'],
    ]);
    expect(rows.every((r) => r.network === 'n1' && r.ttl === 600)).toBe(true);
  });

  it('R7 an exposed port is listed as an SRV row under each of the endpoint\'s names, targeting its first name', async () => {
    const net = new FakeNetwork('n1', {});
    const sb = new FakeSandbox('web', { hostname: 'webhost' });
    const ep = await net.createEndpoint('web', { aliases: ['www'] });
    ep.ports = [{ port: 80, proto: 'tcp' }, { port: 53, proto: 'udp' }];
    await ep.join(sb);
    const srv = recordRows(net).filter((r) => r.type === 'SRV').map((r) => `${r.name} ${r.value} ${r.kind}`);
    expect(srv).toEqual([
      '_80._tcp.web 0 0 80 web.n1. name', '_53._udp.web 0 0 53 web.n1. name',
      '_80._tcp.www 0 0 80 web.n1. alias', '_53._udp.www 0 0 53 web.n1. alias',
      '_80._tcp.webhost 0 0 80 web.n1. hostname', '_53._udp.webhost 0 0 53 web.n1. hostname',
    ]);
  });

  it('R15 a left endpoint has no rows', async () => {
    const net = new FakeNetwork('n1', {});
    const sb = new FakeSandbox('web', {});
    const ep = await net.createEndpoint('web');
    await ep.join(sb);
    await ep.leave(sb);
    expect(recordRows(net)).toEqual([]);
  });
});
