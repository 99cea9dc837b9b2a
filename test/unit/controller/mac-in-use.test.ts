/**
 * Two endpoints of one network never get the same requested MAC address (409 ERR_ENDPOINT_MAC_IN_USE): on one bridge
 * they would break its layer 2 silently. Case and `-` separators do not hide a duplicate; another network may use it.
 * The external driver makes nothing in the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController, type Controller, type Network } from '../../../controller/index.js';
import { silentLogger } from '../../../common/log.js';

let c: Controller;
let a: Network;
let b: Network;

beforeAll(async () => {
  c = createController({ logger: silentLogger(), originResolvConf: '/nonexistent/resolv.conf', firewall: false, watchOrigin: false });
  a = await c.newNetwork('external', 'maca', { subnet: '10.78.1.0/24' });
  b = await c.newNetwork('external', 'macb', { subnet: '10.78.2.0/24' });
});

afterAll(async () => {
  await c?.close();
});

describe('requested MAC addresses', () => {
  it('L1 a MAC another endpoint of the network has is 409 naming it, in any spelling; nothing is allocated; another network may use it; free again after a delete', async () => {
    const first = await a.createEndpoint('m1', { macAddress: '02:42:0a:00:00:99' });
    for (const mac of ['02:42:0a:00:00:99', '02:42:0A:00:00:99', '02-42-0a-00-00-99']) {
      await expect(a.createEndpoint('m2', { macAddress: mac }), mac).rejects.toMatchObject({ code: 'ERR_ENDPOINT_MAC_IN_USE', status: 409, details: { endpoint: 'm1', network: 'maca' } });
    }
    expect([...a.endpoints.values()].map((e) => e.name)).toEqual(['m1']);
    const other = await b.createEndpoint('m2', { macAddress: '02:42:0a:00:00:99' });
    const second = await a.createEndpoint('m3', { macAddress: '02:42:0a:00:00:98' });
    expect(second.ipv4).toBe('10.78.1.3'); // the refused ones took no address
    await first.delete();
    const again = await a.createEndpoint('m2', { macAddress: '02:42:0a:00:00:99' });
    for (const e of [other, second, again]) await e.delete();
  });
});
