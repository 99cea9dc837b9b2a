import { describe, expect, it } from 'vitest';
import { canonicalIp as canonicalAddress } from '../../../common/ip.js';
import { AddressPool, subnetsOverlap } from '../../../drivers/index.js';

describe('IPAM pool', () => {
  it('L2 skips network, gateway and broadcast and never hands out an address twice', () => {
    const p = new AddressPool('10.9.0.0/29');
    expect(p.gateway).toBe('10.9.0.1');
    const got = [p.allocate(), p.allocate(), p.allocate(), p.allocate(), p.allocate()];
    expect(got).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    expect(() => p.allocate()).toThrow(expect.objectContaining({ code: 'ERR_IPAM_POOL_EXHAUSTED' }));
  });

  it('L2 releases addresses and reuses them', () => {
    const p = new AddressPool('10.9.0.0/29');
    const a = p.allocate();
    p.allocate();
    p.release(a);
    expect(p.isAllocated(a)).toBe(false);
    const seen = new Set([p.allocate(), p.allocate(), p.allocate(), p.allocate()]);
    expect(seen.has(a)).toBe(true);
    expect(p.size).toBe(5);
  });

  it('L2 a requested address is checked against range, gateway and use', () => {
    const p = new AddressPool('10.9.0.0/24', '10.9.0.254');
    expect(p.allocate('10.9.0.1')).toBe('10.9.0.1');
    expect(() => p.allocate('10.9.0.1')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_ADDRESS_IN_USE' }));
    expect(() => p.allocate('10.9.0.254')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_ADDRESS_OUT_OF_RANGE' }));
    expect(() => p.allocate('10.9.0.255')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_ADDRESS_OUT_OF_RANGE' }));
    expect(() => p.allocate('10.9.1.5')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_ADDRESS_OUT_OF_RANGE' }));
    expect(() => p.allocate('nonsense')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_ADDRESS_OUT_OF_RANGE' }));
  });

  it('L2 IPv6 pools allocate canonical addresses', () => {
    const p = new AddressPool('fd00:1::/64');
    expect(p.gateway).toBe('fd00:1::1');
    expect(p.allocate()).toBe('fd00:1::2');
    expect(p.allocate('fd00:1:0:0::00ff')).toBe('fd00:1::ff');
  });

  it('L1 bad subnets and gateways get ERR_IPAM_INVALID_SUBNET', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'x/24', '10.0.0.0/31', '10.0.0.0/4']) {
      expect(() => new AddressPool(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_IPAM_INVALID_SUBNET' }));
    }
    expect(() => new AddressPool('10.0.0.0/24', '10.0.1.1')).toThrow(expect.objectContaining({ code: 'ERR_IPAM_INVALID_SUBNET' }));
  });

  it.each([
    ['127.0.0.0/24', /127\.0\.0\.0\/8, loopback/],
    ['127.200.0.0/16', /loopback/],
    ['0.0.0.0/24', /"this network"/],
    ['224.1.0.0/24', /224\.0\.0\.0\/4, multicast/],
    ['239.255.255.0/24', /multicast/],
    ['230.0.0.0/8', /multicast/],
    ['::/64', /::\/127, the unspecified and loopback/],
    ['::/48', /loopback/],
    ['ff05::/64', /ff00::\/8, multicast/],
    ['ff00::/48', /multicast/],
  ])('L1 %s overlaps a special-purpose block (RFC 6890) and is refused, saying which and what to use', (cidr, why) => {
    expect(() => new AddressPool(cidr)).toThrow(expect.objectContaining({ code: 'ERR_IPAM_INVALID_SUBNET', status: 400, message: expect.stringMatching(why) }));
    expect(() => new AddressPool(cidr)).toThrow(/choose a private range such as/);
  });

  it.each(['10.89.0.0/24', '192.168.1.0/24', '128.0.0.0/24', '223.255.255.0/24', '240.0.0.0/24', '0:0:0:1::/64', 'fd00:89::/64', '2001:db8::/64', 'fe80::/64', 'feff::/64'])('L1 %s is a usable subnet', (cidr) => {
    expect(new AddressPool(cidr).subnet).toBe(cidr);
  });

  it('L2 overlap and canonical forms', () => {
    expect(subnetsOverlap('10.0.0.0/16', '10.0.5.0/24')).toBe(true);
    expect(subnetsOverlap('10.0.0.0/24', '10.0.1.0/24')).toBe(false);
    expect(subnetsOverlap('10.0.0.0/24', 'fd00::/64')).toBe(false);
    expect(canonicalAddress('fe00::0')).toBe('fe00::');
    expect(canonicalAddress('1.2.3.4.5')).toBeUndefined();
  });
});
