import { describe, expect, it } from 'vitest';
import { addressOfReverseName, canonicalIp, formatIp, ipFamily, parseCidr, parseIp, reverseName } from '../../../common/ip.js';

describe('common/ip: one canonical address everywhere (RFC 5952)', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['2001:0DB8:0:0::0001', '2001:db8::1'],
    ['fe00::0', 'fe00::'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::FFFF:0102:0304', '::ffff:1.2.3.4'],
    ['::1', '::1'],
  ])('%s is written %s', (input, text) => {
    expect(canonicalIp(input)).toBe(text);
  });

  it.each(['example.com', '', '1.2.3.4.5', '127.000.0.11', '10.0.0.0/8', 'fe80::1%eth0', '2001:db8::/64', '300.1.1.1'])('%j is not a plain address', (input) => {
    expect(canonicalIp(input)).toBeUndefined();
    expect(ipFamily(input)).toBeUndefined();
  });

  it('a zone is kept only when asked for, and only a plain one', () => {
    expect(parseIp('FE80::BB1%eth0', { zone: true })?.text).toBe('fe80::bb1%eth0');
    expect(parseIp('fe80::1%eth0')).toBeUndefined();
    expect(parseIp('fe80::1%a b', { zone: true })).toBeUndefined();
  });

  it('family, loopback, the mapped IPv4 part, value and bytes', () => {
    expect(parseIp('127.5.0.1')).toMatchObject({ family: 4, loopback: true, value: 0x7f050001n, bytes: [127, 5, 0, 1] });
    expect(parseIp('::1')).toMatchObject({ family: 6, loopback: true });
    expect(parseIp('::ffff:127.0.0.1')).toMatchObject({ family: 6, loopback: false, mappedV4: '127.0.0.1' });
    expect(parseIp('2001:db8::1')?.bytes).toHaveLength(16);
    expect(formatIp(parseIp('2001:db8::1')!.value, 6)).toBe('2001:db8::1');
    expect(formatIp(0xffff01020304n, 6)).toBe('::ffff:1.2.3.4');
  });

  it('CIDRs: host bits cleared, bounds, family; not a CIDR without a prefix', () => {
    expect(parseCidr('10.1.2.3/24')).toEqual({ family: 4, prefix: 24, first: 0x0a010200n, last: 0x0a0102ffn, text: '10.1.2.0/24' });
    expect(parseCidr('2001:DB8::1/64')?.text).toBe('2001:db8::/64');
    expect(parseCidr('10.0.0.1')).toBeUndefined();
    expect(parseCidr('nope/8')).toBeUndefined();
  });

  it('RFC 1035 §3.5 / RFC 3596 §2.5 reverse names round-trip; partial names are no address', () => {
    expect(reverseName('192.0.2.1')).toBe('1.2.0.192.in-addr.arpa.');
    for (const ip of ['192.0.2.1', '2001:db8::1', '::ffff:1.2.3.4']) {
      const name = reverseName(ip)!;
      expect(addressOfReverseName(name.slice(0, -1))).toBe(canonicalIp(ip));
    }
    expect(addressOfReverseName('2.0.192.in-addr.arpa')).toBeUndefined();
    expect(addressOfReverseName('example.com')).toBeUndefined();
    expect(reverseName('10.0.0.0/8')).toBeUndefined();
  });
});
