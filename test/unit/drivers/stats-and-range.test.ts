import { describe, expect, it } from 'vitest';
import { decodeNetwork } from '../../../store/cluster/keys.js';
import { AddressPool } from '../../../drivers/index.js';
import { countersOf, swapDirection } from '../../../drivers/bridge/stats.js';

describe('network stack: interface statistics', () => {
  it('takes the kernel\'s 64-bit counters and swaps directions for the sandbox side (libcontainer)', () => {
    const c = countersOf({ rxBytes: 500n, rxPackets: 5n, rxErrors: 1n, rxDropped: 2n, txBytes: 9000n, txPackets: 90n, txErrors: 3n, txDropped: 4n });
    expect(c).toEqual({ rxBytes: 500, rxPackets: 5, rxErrors: 1, rxDropped: 2, txBytes: 9000, txPackets: 90, txErrors: 3, txDropped: 4 });
    expect(swapDirection(c)).toEqual({ rxBytes: 9000, rxPackets: 90, rxErrors: 3, rxDropped: 4, txBytes: 500, txPackets: 5, txErrors: 1, txDropped: 2 });
    expect(countersOf({ rxBytes: 2n ** 40n })).toEqual({ rxBytes: 2 ** 40, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 });
  });
});

describe('network stack: --ip-range', () => {
  it('dynamic addresses come from the range only; explicit ones anywhere in the subnet', () => {
    const pool = new AddressPool('10.5.0.0/24', undefined, '10.5.0.128/30');
    expect([pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['10.5.0.128', '10.5.0.129', '10.5.0.130', '10.5.0.131']);
    expect(() => pool.allocate()).toThrow(expect.objectContaining({ code: 'ERR_IPAM_POOL_EXHAUSTED' }));
    expect(pool.allocate('10.5.0.7')).toBe('10.5.0.7');
    expect(pool.ipRange).toBe('10.5.0.128/30');
  });

  it.each(['10.6.0.0/25', 'fd00::/64', 'nope', '10.5.0.0/16'])('range %s outside the subnet (or not a CIDR) is refused', (r) => {
    expect(() => new AddressPool('10.5.0.0/24', undefined, r)).toThrow(expect.objectContaining({ code: 'ERR_IPAM_INVALID_SUBNET' }));
  });
});

describe('--ip-range with the cluster\'s random start (M4)', () => {
  it('scatter() moves the cursor inside the allocation range only: 300 scattered allocations all fall in it', () => {
    const pool = new AddressPool('10.9.0.0/24', undefined, '10.9.0.128/25');
    for (let i = 0; i < 300; i++) {
      pool.scatter();
      const ip = pool.allocate();
      expect(Number(ip.split('.')[3]), ip).toBeGreaterThanOrEqual(128);
      pool.release(ip);
    }
  });

  it('a global network\'s record carries its range to every host (decoded, and refused when not an IPv4 CIDR)', () => {
    const spec = { id: 'n1', name: 'g', driver: 'overlay', subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.128/25', internal: false, ttl: 600, dns: [], options: {} };
    expect(decodeNetwork(JSON.stringify(spec))).toMatchObject({ ipRange: '10.9.0.128/25' });
    for (const ipRange of ['fd00::/64', '10.9.0.128', 'x']) expect(decodeNetwork(JSON.stringify({ ...spec, ipRange })), ipRange).toBeUndefined();
  });
});
