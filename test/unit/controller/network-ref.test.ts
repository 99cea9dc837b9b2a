/**
 * A network is found by id, by name, or by a prefix of its id that no other id has (the 12 characters `network ls`
 * prints), as Docker's FindNetwork; a prefix of several ids is ERR_NETWORK_AMBIGUOUS (400). The external driver makes
 * nothing in the kernel, so no root is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController, type Controller, type Network } from '../../../controller/index.js';
import { silentLogger } from '../../../common/log.js';

let c: Controller;
const nets: Network[] = [];

beforeAll(async () => {
  c = createController({ logger: silentLogger(), originResolvConf: '/nonexistent/resolv.conf', firewall: false, watchOrigin: false });
  // Enough networks that two ids share a first hex digit (17 > 16 digits).
  for (let i = 0; i < 17; i++) nets.push(await c.newNetwork('external', `ref${i}`, { subnet: `10.77.${i}.0/24` }));
});

afterAll(async () => {
  await c?.close();
});

describe('controller.network(ref)', () => {
  it('L1 by id, name, or a unique id prefix (12 characters, and shorter); a prefix of several ids is 400 ERR_NETWORK_AMBIGUOUS', () => {
    for (const n of nets) {
      expect(c.network(n.id)).toBe(n);
      expect(c.network(n.name)).toBe(n);
      expect(c.network(n.id.slice(0, 12))).toBe(n);
    }
    const byDigit = new Map<string, Network[]>();
    for (const n of nets) byDigit.set(n.id[0]!, [...(byDigit.get(n.id[0]!) ?? []), n]);
    const shared = [...byDigit.entries()].find(([, list]) => list.length > 1)!;
    expect(() => c.network(shared[0])).toThrow(expect.objectContaining({ code: 'ERR_NETWORK_AMBIGUOUS', status: 400 }));
    expect(() => c.network('zz-none')).toThrow(expect.objectContaining({ code: 'ERR_NETWORK_NOT_FOUND', status: 404 }));
    expect(() => c.network('')).toThrow(expect.objectContaining({ code: 'ERR_NETWORK_NOT_FOUND' }));
    expect(() => c.network(nets[0]!.id.slice(0, 12).toUpperCase())).toThrow(expect.objectContaining({ code: 'ERR_NETWORK_NOT_FOUND' }));
  });

  it('L1 a name wins over another network\'s id prefix', async () => {
    const target = nets[0]!;
    const named = await c.newNetwork('external', target.id.slice(0, 6), { subnet: '10.77.200.0/24' });
    expect(c.network(target.id.slice(0, 6))).toBe(named);
    expect(c.network(target.id.slice(0, 7))).toBe(target);
    await c.deleteNetwork(named);
  });
});
