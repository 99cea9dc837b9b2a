import { describe, expect, it } from 'vitest';
import { pickFreeSubnet } from '../../../controller/subnets.js';

describe('default subnet', () => {
  it('L2 picks the first /24 that overlaps no network and no host route', () => {
    expect(pickFreeSubnet('10.213.0.0/16', [])).toBe('10.213.0.0/24');
    expect(pickFreeSubnet('10.213.0.0/16', ['10.213.0.0/24', '10.213.1.7/32'])).toBe('10.213.2.0/24');
    expect(pickFreeSubnet('10.213.0.0/23', ['10.213.0.0/16'])).toBeUndefined();
  });
});
