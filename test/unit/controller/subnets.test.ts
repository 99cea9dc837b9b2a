import { describe, expect, it } from 'vitest';
import { pickFreeSubnet } from '../../../controller/subnets.js';
import { planNetwork } from '../../../controller/plan.js';
import type { ControllerCore } from '../../../controller/core.js';
import type { Network } from '../../../controller/network.js';

describe('default subnet', () => {
  it('L2 picks the first /24 that overlaps no network and no host route', () => {
    expect(pickFreeSubnet('10.213.0.0/16', [])).toBe('10.213.0.0/24');
    expect(pickFreeSubnet('10.213.0.0/16', ['10.213.0.0/24', '10.213.1.7/32'])).toBe('10.213.2.0/24');
    expect(pickFreeSubnet('10.213.0.0/23', ['10.213.0.0/16'])).toBeUndefined();
  });
});

describe('overlap with the networks of this host (both families)', () => {
  const plan = (networks: Network[], name: string, options: Record<string, unknown>): Promise<Network> =>
    planNetwork({ core: {} as ControllerCore, pool: '10.213.0.0/16', networks, clusterSubnets: [], id: name }, { driverName: 'bridge', name, options, driverOptions: {}, scope: 'local' });

  it('an IPv6 subnet equal to, inside or around another network\'s is 409 ERR_NETWORK_SUBNET_OVERLAP naming it; disjoint ones pass', async () => {
    const a = await plan([], 'a', { subnet: '10.1.0.0/24', subnet6: 'fd00:1::/64' });
    for (const subnet6 of ['fd00:1::/64', 'fd00:1::/56', 'fd00:1:0:0:8000::/65', 'fd00:1::/48']) {
      await expect(plan([a], 'b', { subnet: '10.2.0.0/24', subnet6 }), subnet6).rejects.toMatchObject({ code: 'ERR_NETWORK_SUBNET_OVERLAP', status: 409, message: expect.stringContaining('a (fd00:1::/64)') });
    }
    await expect(plan([a], 'b', { subnet: '10.2.0.0/24', subnet6: 'fd00:2::/64' })).resolves.toBeDefined();
    await expect(plan([a], 'b', { subnet: '10.2.0.0/24' })).resolves.toBeDefined();
    await expect(plan([a], 'b', { subnet: '10.1.0.128/25' })).rejects.toMatchObject({ code: 'ERR_NETWORK_SUBNET_OVERLAP' });
  });
});
