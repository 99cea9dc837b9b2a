import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.js';
import { createResolver, explain, type LinkAlias, type ResolverView } from '../../../resolver/index.js';
import { resolveLocal } from '../../../resolver/local.js';
import { answerData, decode, network, query, view, type Decoded, type QueryOptions } from './_helpers.js';

/** Ask through a resolver with no inserted stages (a miss is SERVFAIL). */
function ask(v: ResolverView, name: string, type: Parameters<typeof query>[1] = 'A', o: QueryOptions = {}): Decoded {
  const out = createResolver({ view: v, logger: silentLogger() }).handle(query(name, type, o), 'udp');
  expect(out).toBeInstanceOf(Buffer); // local path and fallback are synchronous
  return decode(out as Buffer);
}

function summary(d: Decoded): string {
  return `${d.rcode} ${answerData(d).join(',')}`.trim();
}

// Docker's TestDNSIPQuery: network dtnet1, name1 → 192.168.0.1, forwarding off.
const dtnet1 = view([network('dtnet1', [{ endpointId: 'ep1', names: ['name1'], ipv4: '192.168.0.1' }])]);

describe('local answers (R3–R7, R9)', () => {
  it.each([
    { q: 'name1.', type: 'A', want: 'NOERROR 192.168.0.1' },
    { q: 'NaMe1.', type: 'A', want: 'NOERROR 192.168.0.1' },
    { q: 'name1', type: 'A', want: 'NOERROR 192.168.0.1' },
    { q: 'name1.', type: 'MX', want: 'NOERROR' },
    { q: 'nonexistent.', type: 'MX', want: 'SERVFAIL' },
    { q: 'nonexistent.', type: 'A', want: 'SERVFAIL' },
  ] as const)('R3 R6 TestDNSIPQuery: $type $q → $want', ({ q, type, want }) => {
    expect(summary(ask(dtnet1, q, type))).toBe(want);
  });

  it('R3 TestDNSIPQuery: the answer echoes the question exactly as asked', () => {
    const d = ask(dtnet1, 'NaMe1.', 'A');
    expect(d.questions).toEqual([{ name: 'NaMe1', type: 'A', class: 'IN' }]);
    expect(d.answers?.[0]?.name).toBe('NaMe1');
  });

  // Docker's TestUserDefinedNetworkConnectivity: dotted names and `name.network`.
  const dotted = view([network('br.net1', [{ endpointId: 'c1', names: ['c1.net1'], ipv4: '172.28.0.2' }])]);
  it.each([
    { q: 'c1.net1', want: 'NOERROR 172.28.0.2' },
    { q: 'c1.net1.br.net1', want: 'NOERROR 172.28.0.2' },
    { q: 'C1.NET1.br.net1', want: 'NOERROR 172.28.0.2' },
    { q: 'c1.net1.BR.net1', want: 'NOERROR 172.28.0.2' }, // FS8 (RFC 4343): Docker forwards this one
    { q: 'C1.NET1.BR.NET1', want: 'NOERROR 172.28.0.2' },
    { q: 'c1.net1.br.net1.google.com', want: 'SERVFAIL' },
  ])('R3 TestUserDefinedNetworkConnectivity: A $q → $want', ({ q, want }) => {
    expect(summary(ask(dotted, q))).toBe(want);
  });

  it('R3 candidates run (a.b.c, any) first, then (a.b, c), then (a, b.c)', () => {
    const v = view([
      network('c', [{ endpointId: 'x', names: ['a.b'], ipv4: '10.0.0.2' }]),
      network('b.c', [{ endpointId: 'y', names: ['a'], ipv4: '10.0.0.3' }]),
      network('z', [{ endpointId: 'w', names: ['a.b.c'], ipv4: '10.0.0.4' }]),
    ]);
    expect(summary(ask(v, 'a.b.c'))).toBe('NOERROR 10.0.0.4');
    v.networks[2]!.records.removeEndpoint('w');
    expect(summary(ask(v, 'a.b.c'))).toBe('NOERROR 10.0.0.2');
    v.networks[0]!.records.removeEndpoint('x');
    expect(summary(ask(v, 'a.b.c'))).toBe('NOERROR 10.0.0.3');
  });

  it('R4 networks are searched in view order; the first that knows the name decides', () => {
    const v = view([
      network('front', [{ endpointId: 'a', names: ['app'], ipv4: '10.1.0.2' }]),
      network('back', [{ endpointId: 'b', names: ['app'], ipv4: '10.2.0.2', ipv6: 'fd00::2' }]),
    ]);
    expect(summary(ask(v, 'app', 'A'))).toBe('NOERROR 10.1.0.2');
    expect(summary(ask(v, 'app', 'AAAA'))).toBe('NOERROR');
    expect(summary(ask(v, 'app.back', 'AAAA'))).toBe('NOERROR fd00::2');
  });

  it('R4 a peer on a network the sandbox is not on is not visible', () => {
    const other = network('other', [{ endpointId: 'p', names: ['peer'], ipv4: '10.9.0.2' }]);
    const v = view([network('mine', [{ endpointId: 'me', names: ['me'], ipv4: '10.8.0.2' }])]);
    expect(other.records.lookup('peer')).toBeDefined();
    expect(summary(ask(v, 'peer'))).toBe('SERVFAIL');
    expect(summary(ask(v, 'peer.other'))).toBe('SERVFAIL');
  });

  it('R3 an alias two endpoints declare: the first whose target answers wins, and a peer of that name is hidden on every declaring network', () => {
    const net1 = network('net1', [{ endpointId: 'db1', names: ['db'], ipv4: '10.0.0.9' }]); // pgA (the first target) is down
    const net2 = network('net2', [{ endpointId: 'pgb', names: ['pgB'], ipv4: '10.2.0.7' }, { endpointId: 'db2', names: ['db'], ipv4: '10.2.0.9' }]);
    const aliases = new Map<string, LinkAlias[]>([['db', [{ target: 'pgA', network: 'net1' }, { target: 'pgB', network: 'net2' }]]]);
    const v = view([net1, net2], { linkAliases: aliases });
    expect(summary(ask(v, 'db'))).toBe('NOERROR 10.2.0.7');
    net2.records.removeEndpoint('pgb'); // both targets down: the peers named db stay hidden on both networks
    expect(summary(ask(v, 'db'))).toBe('SERVFAIL');
  });

  describe('R3 link aliases', () => {
    const make = (targetUp: boolean): ResolverView => {
      const net1 = network('net1', [{ endpointId: 'db', names: ['db'], ipv4: '10.0.0.9' }]);
      const net2 = network('net2', [{ endpointId: 'db2', names: ['db'], ipv4: '10.2.0.9' }]);
      if (targetUp) net1.records.addEndpoint({ endpointId: 'c2', names: ['c2'], ipv4: '10.0.0.2' });
      const aliases = new Map<string, LinkAlias[]>([['db', [{ target: 'c2', network: 'net1' }]]]);
      return view([net1, net2], { linkAliases: aliases });
    };
    it.each([
      { q: 'db', up: true, want: 'NOERROR 10.0.0.2' },
      { q: 'db.net1', up: true, want: 'NOERROR 10.0.0.2' },
      { q: 'db.net2', up: true, want: 'NOERROR 10.2.0.9' },
      { q: 'DB', up: true, want: 'NOERROR 10.0.0.2' }, // FS8: Docker matches aliases case-sensitively and answers 10.0.0.9
      { q: 'db', up: false, want: 'NOERROR 10.2.0.9' },
    ])('R3 A $q with the target up=$up → $want', ({ q, up, want }) => {
      expect(summary(ask(make(up), q))).toBe(want);
    });
  });

  const web = view([
    network('net1', [
      { endpointId: 'w', names: ['web', 'task1'], ipv4: '10.0.0.2', ports: [{ port: 80, proto: 'tcp' }, { port: 53, proto: 'udp' }] },
      { endpointId: 'v6', names: ['six'], ipv6: 'fd00::6' },
    ]),
  ]);
  it.each(['AAAA', 'MX', 'TXT', 'CNAME', 'NS', 'SOA', 'CAA', 'SRV', 'PTR', 'NAPTR', 65, 64] as const)(
    'R6 %s for a known IPv4-only name is NODATA, never a leak',
    (type) => {
      const d = ask(web, 'web', type);
      expect([d.rcode, d.answers?.length, d.flag_ra]).toEqual(['NOERROR', 0, true]);
    },
  );

  it.each([
    { q: 'six', type: 'A', want: 'NOERROR' },
    { q: 'six', type: 'AAAA', want: 'NOERROR fd00::6' },
    { q: 'web', type: 255, want: 'NOERROR 10.0.0.2' },
  ] as const)('R6 $type $q → $want', ({ q, type, want }) => {
    expect(summary(ask(web, q, type))).toBe(want);
  });

  it.each([
    { q: '2.0.0.10.in-addr.arpa', want: 'NOERROR web.net1' },
    { q: '2.0.0.10.IN-ADDR.ARPA', want: 'NOERROR web.net1' },
    { q: '6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', want: 'NOERROR six.net1' },
    { q: '3.0.0.10.in-addr.arpa', want: 'SERVFAIL' },
    { q: '0.10.in-addr.arpa', want: 'SERVFAIL' },
    { q: '02.0.0.10.in-addr.arpa', want: 'SERVFAIL' },
    { q: 'web', want: 'NOERROR' },
  ])('R5 PTR $q → $want', ({ q, want }) => {
    expect(summary(ask(web, q, 'PTR'))).toBe(want);
  });

  it('R7 SRV for an exposed port: priority 0, weight 0, target name.network., A in Additional', () => {
    const d = ask(web, '_80._tcp.web.', 'SRV');
    expect(d.rcode).toBe('NOERROR');
    expect(d.answers).toEqual([
      { name: '_80._tcp.web', type: 'SRV', ttl: 600, class: 'IN', flush: false, data: { priority: 0, weight: 0, port: 80, target: 'web.net1' } },
    ]);
    expect(d.additionals).toEqual([{ name: 'web.net1', type: 'A', ttl: 600, class: 'IN', flush: false, data: '10.0.0.2' }]);
  });

  it.each([
    { q: '_53._udp.task1', type: 'SRV', want: 'NOERROR web.net1:53' },
    { q: '_80._tcp.web.net1', type: 'SRV', want: 'NOERROR web.net1:80' },
    { q: '_81._tcp.web', type: 'SRV', want: 'NOERROR' },
    { q: '_80._udp.web', type: 'SRV', want: 'NOERROR' },
    { q: '_80._tcp.web', type: 'A', want: 'NOERROR' },
    { q: '_80._tcp.nobody', type: 'SRV', want: 'SERVFAIL' },
  ] as const)('R7 $type $q → $want', ({ q, type, want }) => {
    expect(summary(ask(web, q, type))).toBe(want);
  });

  it.each([
    { ndots: true, q: 'nope', type: 'A', want: 'NOERROR' },
    { ndots: true, q: 'nope.', type: 'AAAA', want: 'NOERROR' },
    { ndots: true, q: 'nope', type: 'MX', want: 'SERVFAIL' },
    { ndots: true, q: 'nope.com', type: 'A', want: 'SERVFAIL' },
    { ndots: false, q: 'nope', type: 'A', want: 'SERVFAIL' },
  ] as const)('R9 single-label rule, ndotsSet=$ndots: $type $q → $want', ({ ndots, q, type, want }) => {
    const d = ask(view(web.networks, { ndotsSet: ndots }), q, type);
    expect(summary(d)).toBe(want);
    if (want === 'NOERROR') expect(d.flag_ra).toBe(true);
  });

  it.each([
    { qclass: 'CH', q: 'web', want: 'NOERROR' },
    { qclass: 'ANY', q: 'web', want: 'NOERROR 10.0.0.2' },
    { qclass: 'CH', q: 'version.bind', want: 'SERVFAIL' },
  ] as const)('R6 class $qclass $q → $want: IN/ANY answered, a known name in another class is NODATA', ({ qclass, q, want }) => {
    const d = ask(web, q, 'A', { qclass });
    expect(summary(d)).toBe(want);
    for (const a of d.answers ?? []) expect(a.class).toBe('IN');
  });

  it('R15 a removed name stops resolving at once; a swapped network list is seen at once', () => {
    const net1 = network('net1', [{ endpointId: 'a', names: ['a'], ipv4: '10.0.0.2' }]);
    const net2 = network('net2', [{ endpointId: 'b', names: ['b'], ipv4: '10.0.1.2' }]);
    let networks = [net1];
    const live: ResolverView = { ...view([]), get networks() { return networks; } };
    const r = createResolver({ view: live, logger: silentLogger() });
    const a = (name: string): string => summary(decode(r.handle(query(name), 'udp') as Buffer));
    expect([a('a'), a('b')]).toEqual(['NOERROR 10.0.0.2', 'SERVFAIL']);
    networks = [net1, net2];
    expect(a('b')).toBe('NOERROR 10.0.1.2');
    net1.records.removeEndpoint('a');
    expect(a('a')).toBe('SERVFAIL');
  });

  it('R3 resolveLocal reports the network, the matched name and how it was found', () => {
    const r = resolveLocal(web, { name: 'Task1.net1.', lname: 'task1.net1', qtype: 1, qclass: 1 });
    expect(r).toMatchObject({ kind: 'answer', name: 'task1', via: 'name', network: { name: 'net1' } });
    expect(resolveLocal(web, { name: 'x.', lname: 'x', qtype: 1, qclass: 1 })).toEqual({ kind: 'miss' });
  });

  it.each([
    { name: 'name1', type: 'A', kind: 'answer', text: /answered on network dtnet1 .*192\.168\.0\.1/ },
    { name: 'NAME1.', type: 'AAAA', kind: 'nodata', text: /NODATA on network dtnet1.*without AAAA data/ },
    { name: 'other', type: 28, kind: 'miss', text: /not known/ },
  ])('R3 explain($name, $type) → $kind', ({ name, type, kind, text }) => {
    const e = explain(dtnet1, name, type);
    expect(e.result.kind).toBe(kind);
    expect(e.summary).toMatch(text);
  });

  it('R9 explain names the single-label rule; a bad qtype is ERR_INVALID_OPTION', () => {
    expect(explain(view(dtnet1.networks, { ndotsSet: true }), 'x').summary).toMatch(/single-label name with ndots set/);
    expect(() => explain(dtnet1, 'x', 'NOPE')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});

describe('FS8 every name matches ignoring case (RFC 4343)', () => {
  const v = view(
    [
      network('Front-End', [{ endpointId: 'a', names: ['Api', 'web'], ipv4: '10.1.0.2' }]),
      network('back', [{ endpointId: 'b', names: ['db'], ipv4: '10.2.0.2' }]),
    ],
    { linkAliases: new Map<string, LinkAlias[]>([['Cache', [{ target: 'DB', network: 'back' }]]]) },
  );
  it.each([
    ['api.front-end', 'NOERROR 10.1.0.2'],
    ['API.FRONT-END', 'NOERROR 10.1.0.2'],
    ['web.Front-End', 'NOERROR 10.1.0.2'],
    ['WEB.fRONT-eND', 'NOERROR 10.1.0.2'],
    ['db.BACK', 'NOERROR 10.2.0.2'],
    ['DB.Back', 'NOERROR 10.2.0.2'],
    ['cache', 'NOERROR 10.2.0.2'],
    ['CACHE', 'NOERROR 10.2.0.2'],
    ['cache.BACK', 'NOERROR 10.2.0.2'],
    ['db.FRONT-END', 'SERVFAIL'], // a peer of another network is not found there, whatever the case
  ])('FS8 A %s → %s', (name, want) => {
    expect(summary(ask(v, name))).toBe(want);
  });
});
