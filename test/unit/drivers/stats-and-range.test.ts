import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../../drivers/index.js';
import { parseProcNetDev, swapDirection } from '../../../drivers/bridge/stats.js';

const PROC = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
sv0123456789ab: 500 5 1 2 0 0 0 0 9000 90 3 4 0 0 0 0
`;

describe('issue 12: interface statistics', () => {
  it('parses /proc/net/dev and swaps directions for the sandbox side (libcontainer)', () => {
    const c = parseProcNetDev(PROC).get('sv0123456789ab')!;
    expect(c).toEqual({ rxBytes: 500, rxPackets: 5, rxErrors: 1, rxDropped: 2, txBytes: 9000, txPackets: 90, txErrors: 3, txDropped: 4 });
    expect(swapDirection(c)).toEqual({ rxBytes: 9000, rxPackets: 90, rxErrors: 3, rxDropped: 4, txBytes: 500, txPackets: 5, txErrors: 1, txDropped: 2 });
    expect(parseProcNetDev('garbage\n\nx: 1 2\n').size).toBe(0);
  });
});

describe('issue 12: --ip-range', () => {
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
