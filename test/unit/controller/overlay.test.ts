import { describe, expect, it } from 'vitest';
import { createController } from '../../../controller/index.js';
import { silentLogger } from '../../../common/log.js';
import { networkBody } from '../../../bin/cli/commands-network.js';

describe('overlay networks need the cluster store (O1)', () => {
  it('--driver overlay on a daemon without --cluster-store: 400 ERR_CLUSTER_NOT_CONFIGURED, nothing made', async () => {
    const c = createController({ logger: silentLogger(), originResolvConf: '/dev/null', firewall: false, watchOrigin: false });
    await expect(c.newNetwork('overlay', 'ov', { subnet: '10.99.0.0/24' })).rejects.toMatchObject({ code: 'ERR_CLUSTER_NOT_CONFIGURED', status: 400 });
    await expect(c.newNetwork('overlay', 'ov', { scope: 'local' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', status: 400 });
    await expect(c.newNetwork('overlay', 'ov', { driverOptions: { vni: 'x' } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(c.networks()).toEqual([]);
    await c.close();
  });

  it('network create --driver overlay --attachable becomes the API body', () => {
    expect(networkBody('n', { dns: [], opt: ['vni=5000'], driver: 'overlay', attachable: true, subnet: '10.1.0.0/24' })).toEqual({
      name: 'n', subnet: '10.1.0.0/24', driver: 'overlay', attachable: true, driverOptions: { vni: '5000' },
    });
  });
});
