import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../../../resolvconf/override.js';
import { option, parseResolvConf, type ExtServer } from '../../../resolvconf/parse.js';
import { renderResolvConf } from '../../../resolvconf/render.js';
import { transformForInternalResolver, transformForLegacy } from '../../../resolvconf/transform.js';

const golden = (name: string): string =>
  readFileSync(new URL(`../../fixtures/resolvconf/${name}`, import.meta.url), 'utf8');
const file = (name: string): string => `${name.replaceAll(' ', '_')}.golden`;

const LEGACY_CASES: { name: string; input: string; ipv6: boolean; overrideNS?: string[]; noUsable: boolean }[] = [
  { name: 'Routable IPv4 only', input: 'nameserver 10.0.0.1', ipv6: false, noUsable: false },
  { name: 'Routable IPv4 and IPv6, ipv6 enabled', input: 'nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1', ipv6: true, noUsable: false },
  { name: 'Routable IPv4 and IPv6, ipv6 disabled', input: 'nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1', ipv6: false, noUsable: false },
  { name: 'IPv4 localhost, ipv6 disabled', input: 'nameserver 127.0.0.53', ipv6: false, noUsable: true },
  { name: 'IPv4 localhost, ipv6 enabled', input: 'nameserver 127.0.0.53', ipv6: true, noUsable: true },
  { name: 'IPv4 and IPv6 localhost, ipv6 disabled', input: 'nameserver 127.0.0.53\nnameserver ::1', ipv6: false, noUsable: true },
  { name: 'IPv4 and IPv6 localhost, ipv6 enabled', input: 'nameserver 127.0.0.53\nnameserver ::1', ipv6: true, noUsable: true },
  { name: 'IPv4 localhost, IPv6 routeable, ipv6 enabled', input: 'nameserver 127.0.0.53\nnameserver fd3e:2d1a:1f5a::1', ipv6: true, noUsable: false },
  { name: 'IPv4 localhost, IPv6 routeable, ipv6 disabled', input: 'nameserver 127.0.0.53\nnameserver fd3e:2d1a:1f5a::1', ipv6: false, noUsable: true },
  { name: 'Override nameservers', input: 'nameserver 127.0.0.53', ipv6: false, overrideNS: ['127.0.0.1', '::1'], noUsable: false },
];

describe('TestRCTransformForLegacyNw (no public-DNS fallback)', () => {
  it.each(LEGACY_CASES)('C3 $name', (tc) => {
    let conf = parseResolvConf(tc.input, '/etc/resolv.conf');
    if (tc.overrideNS !== undefined) conf = applyOverrides(conf, { nameservers: tc.overrideNS });
    const legacy = transformForLegacy(conf, { ipv6: tc.ipv6 });
    expect(legacy.noUsableNameservers).toBe(tc.noUsable);
    const text = renderResolvConf(legacy);
    expect(text).toBe(golden(`TestRCTransformForLegacyNw/${file(tc.name)}`));
    expect(text).not.toContain('8.8.8.8');
  });

  it('C3 an empty origin file gives no nameserver, the flag and a "none are configured" warning', () => {
    const legacy = transformForLegacy(parseResolvConf('', '/etc/resolv.conf'), { ipv6: true });
    expect(legacy.noUsableNameservers).toBe(true);
    expect(legacy.nameservers).toEqual([]);
    expect(legacy.warnings).toEqual(['NO USABLE NAMESERVERS: none are configured']);
  });

  it('C3 TestFilterResolvDns: loopbacks go everywhere, IPv6 (zoned too) only without IPv6', () => {
    const input = [
      '127.0.0.1', '10.16.60.14', '127.0.1.1', '::1', '2002:dead:beef::1', 'FE80::BB1%1', 'FE80::BB1%eth0', '127.0.2.1', '10.16.60.21',
    ].map((ns) => `nameserver ${ns}`).join('\n');
    const conf = parseResolvConf(input, '/etc/resolv.conf');
    expect(transformForLegacy(conf, { ipv6: false }).nameservers).toEqual(['10.16.60.14', '10.16.60.21']);
    expect(transformForLegacy(conf, { ipv6: true }).nameservers).toEqual([
      '10.16.60.14', '2002:dead:beef::1', 'fe80::bb1%1', 'fe80::bb1%eth0', '10.16.60.21',
    ]);
  });
});

const host = (address: string): ExtServer => ({ address, origin: 'host' });
const INT_CASES: {
  name: string;
  input: string;
  overrideNS?: string[];
  overrideOptions?: string[];
  reqdOptions?: string[];
  ext: ExtServer[];
}[] = [
  { name: 'IPv4 only', input: 'nameserver 10.0.0.1', ext: [host('10.0.0.1')] },
  { name: 'IPv4 and IPv6, ipv6 enabled', input: 'nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1', ext: [host('10.0.0.1'), host('fdb6:b8fe:b528::1')] },
  { name: 'IPv4 localhost', input: 'nameserver 127.0.0.53', ext: [host('127.0.0.53')] },
  { name: 'IPv4 localhost override', input: 'nameserver 10.0.0.1', overrideNS: ['127.0.0.53'], ext: [{ address: '127.0.0.53', origin: 'sandbox' }] },
  { name: 'IPv6 only', input: 'nameserver fd14:6e0e:f855::1', ext: [host('fd14:6e0e:f855::1')] },
  { name: 'IPv4 and IPv6 localhost', input: 'nameserver 127.0.0.53\nnameserver ::1', ext: [host('127.0.0.53'), host('::1')] },
  { name: 'ndots present and required', input: 'nameserver 127.0.0.53\noptions ndots:1', reqdOptions: ['ndots:0'], ext: [host('127.0.0.53')] },
  { name: 'ndots missing but required', input: 'nameserver 127.0.0.53', reqdOptions: ['ndots:0'], ext: [host('127.0.0.53')] },
  { name: 'ndots host, override and required', input: 'nameserver 127.0.0.53', reqdOptions: ['ndots:0'], overrideOptions: ['ndots:2'], ext: [host('127.0.0.53')] },
  { name: 'Extra required options', input: 'nameserver 127.0.0.53\noptions trust-ad', reqdOptions: ['ndots:0', 'attempts:3', 'edns0', 'trust-ad'], ext: [host('127.0.0.53')] },
  { name: 'No config', input: '', ext: [] },
];

describe('TestRCTransformForIntNS', () => {
  it.each(INT_CASES)('C2 $name', (tc) => {
    let conf = parseResolvConf(tc.input, '/etc/resolv.conf');
    if (tc.overrideNS !== undefined) conf = applyOverrides(conf, { nameservers: tc.overrideNS });
    if (tc.overrideOptions !== undefined) conf = applyOverrides(conf, { options: tc.overrideOptions });
    const result = transformForInternalResolver(conf, { requiredOptions: tc.reqdOptions ?? [] });
    expect(renderResolvConf(result.conf)).toBe(golden(`TestRCTransformForIntNS/${file(tc.name)}`));
    expect(result.extServers).toEqual(tc.ext);
    expect(result.conf.extServers).toEqual(tc.ext);
  });
});

describe('TestRCTransformForIntNSInvalidNdots', () => {
  it.each([
    { name: 'Negative value', options: 'options ndots:-1', reqd: [], val: '-1', opts: ['ndots:-1'], from: 'host' },
    { name: 'Invalid values with reqd ndots', options: 'options ndots:-1 foo:bar ndots ndots:', reqd: ['ndots:2'], val: '2', opts: ['foo:bar', 'ndots:2'], from: 'internal' },
    { name: 'Valid value with reqd ndots', options: 'options ndots:1 foo:bar ndots ndots:', reqd: ['ndots:2'], val: '1', opts: ['ndots:1', 'foo:bar'], from: 'host' },
  ])('C2 $name', (tc) => {
    const conf = parseResolvConf(`nameserver 8.8.8.8\n${tc.options}`, '/etc/resolv.conf');
    const { conf: out, ndotsSet } = transformForInternalResolver(conf, { requiredOptions: tc.reqd });
    expect(option(out, 'ndots')).toBe(tc.val);
    expect(out.ndotsFrom).toBe(tc.from);
    expect(out.options).toEqual(tc.opts);
    expect(ndotsSet).toBe(true); // Docker: any ndots, even an invalid one
  });
});

describe('TestDNSOptions (pure part: host file without ndots, default required ndots:0)', () => {
  const hostFile = parseResolvConf('nameserver 10.0.0.1\n', '/etc/resolv.conf');
  it.each([
    [undefined, ['ndots:0'], false],
    [['ndots:5'], ['ndots:5'], true],
    [['ndots:0'], ['ndots:0'], true],
    [['ndots:foobar'], ['ndots:0'], true],
    [['ndots:-1'], ['ndots:0'], true],
  ])('C2 dns options %j give %j (ndotsSet %j)', (dnsOptions, expected, ndotsSet) => {
    const conf = dnsOptions === undefined ? hostFile : applyOverrides(hostFile, { options: dnsOptions });
    const once = transformForInternalResolver(conf);
    expect(once.conf.options).toEqual(expected);
    expect(once.ndotsSet).toBe(ndotsSet);
    // "after rebuild": transforming the same input again gives the same options.
    expect(transformForInternalResolver(conf).conf.options).toEqual(expected);
  });
});

describe('transformForInternalResolver', () => {
  it('R10 a dns override of the resolver itself is never an external server (as Docker)', () => {
    const conf = applyOverrides(parseResolvConf('', '/etc/resolv.conf'), { nameservers: ['127.0.0.11', '8.8.8.8'] });
    const { extServers, conf: out } = transformForInternalResolver(conf);
    expect(extServers).toEqual([{ address: '8.8.8.8', origin: 'sandbox' }]);
    expect(out.warnings).toEqual(['Not using own address (127.0.0.11) as an external nameserver']);
  });

  it('R10 with only the resolver itself as override there are no external servers (TestIntDNSAsExtDNS)', () => {
    const conf = applyOverrides(parseResolvConf('', 'x'), { nameservers: ['127.0.0.11'] });
    const { extServers, conf: out } = transformForInternalResolver(conf);
    expect(extServers).toEqual([]);
    expect(renderResolvConf(out)).toContain('# NO EXTERNAL NAMESERVERS DEFINED\n');
  });

  it('R11 127.0.0.11 read from the host file stays a host server (host loopback is another namespace)', () => {
    const { extServers } = transformForInternalResolver(parseResolvConf('nameserver 127.0.0.11', 'x'));
    expect(extServers).toEqual([host('127.0.0.11')]);
  });

  it('C2 TestResolvConf: search kept, only 127.0.0.11 listed, ndots:0 added, v4 and v6 servers external', () => {
    const origin = 'search pommesfrites.fr\nnameserver 12.34.56.78\nnameserver 2001:4860:4860::8888\n';
    const { conf, extServers, ndotsSet } = transformForInternalResolver(parseResolvConf(origin, '/etc/resolv.conf'));
    const directives = renderResolvConf(conf).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(directives).toEqual(['nameserver 127.0.0.11', 'search pommesfrites.fr', 'options ndots:0']);
    expect(extServers).toEqual([host('12.34.56.78'), host('2001:4860:4860::8888')]);
    expect(ndotsSet).toBe(false);
  });

  it('C2 a custom resolver address is used and a bad one is ERR_INVALID_OPTION', () => {
    const conf = parseResolvConf('nameserver 10.0.0.1', 'x');
    expect(transformForInternalResolver(conf, { resolverAddress: '127.0.0.12' }).conf.nameservers).toEqual(['127.0.0.12']);
    expect(() => transformForInternalResolver(conf, { resolverAddress: 'resolver' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });

  it('C2 the input value is not changed', () => {
    const conf = parseResolvConf('nameserver 10.0.0.1\noptions ndots:x', 'x');
    const snapshot = structuredClone(conf);
    transformForInternalResolver(conf);
    transformForLegacy(conf, { ipv6: false });
    expect(conf).toEqual(snapshot);
  });
});
