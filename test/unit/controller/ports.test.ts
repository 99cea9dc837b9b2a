/**
 * N4: a published port forwards to the endpoint's address of the host address's family. An IPv6 host address on a
 * network without an IPv6 subnet, and ::1 anywhere, are refused before any port is held (they would be held, listed
 * and never mapped).
 */
import { describe, expect, it } from 'vitest';
import { reservePorts } from '../../../controller/ports.js';
import type { Network } from '../../../controller/network.js';
import { AddressPool, DriverRegistry, type Driver, type PublishSpec } from '../../../drivers/index.js';

function setup(v6: boolean): { net: Network; held: PublishSpec[][]; drivers: DriverRegistry } {
  const held: PublishSpec[][] = [];
  const driver = { name: 'fake', reservePorts: async (_n: unknown, _id: string, publish: PublishSpec[]) => (held.push(publish), publish.map((p) => ({ ...p, hostPort: p.hostPort ?? 40000 }))) } as unknown as Driver;
  const net = { name: 'n', driver: 'fake', driverNetwork: {}, pool4: new AddressPool('10.1.0.0/24'), pool6: v6 ? new AddressPool('fd00:1::/64') : undefined } as unknown as Network;
  return { net, held, drivers: new DriverRegistry([driver]) };
}

describe('published ports and the network\'s families (N4)', () => {
  it('an IPv6 host address on an IPv4-only network: 400 ERR_INVALID_OPTION naming it, nothing held', async () => {
    for (const hostIp of ['::', '2001:db8::5', 'fd00:9::1']) {
      const { net, held, drivers } = setup(false);
      await expect(reservePorts(drivers, net, 'e1', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIp, hostPort: 8081, containerPort: 80, protocol: 'tcp' }]))
        .rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', status: 400, message: expect.stringContaining(`${hostIp} is IPv6`) });
      expect(held).toEqual([]);
    }
  });

  it('IPv4 host addresses, none, or IPv6 on a dual-stack network are held', async () => {
    const v4 = setup(false);
    await expect(reservePorts(v4.drivers, v4.net, 'e1', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 8081, containerPort: 80, protocol: 'udp' }])).resolves.toHaveLength(2);
    const dual = setup(true);
    await expect(reservePorts(dual.drivers, dual.net, 'e1', [{ hostIp: 'fd00:9::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }])).resolves.toHaveLength(1);
  });

  it('::1, however spelled, is refused on any network (IPv6 has no route_localnet): 400 naming what to use', async () => {
    for (const hostIp of ['::1', '0:0:0:0:0:0:0:1']) {
      const dual = setup(true);
      await expect(reservePorts(dual.drivers, dual.net, 'e1', [{ hostIp, hostPort: 8080, containerPort: 80, protocol: 'tcp' }]))
        .rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', status: 400, message: expect.stringContaining('127.0.0.1') });
      expect(dual.held).toEqual([]);
    }
  });
});
