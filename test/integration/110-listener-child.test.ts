/**
 * R1 with the portable path: listeners opened by an nsenter child and handed
 * over IPC (used when the native helper is not built).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { digShort, getentHosts } from '../helpers/exec.js';
import type { Endpoint } from '../../controller/index.js';

describe('110 listeners through an nsenter child', () => {
  let t: TestController;
  const tag = uniqueName('c');
  const eps: Endpoint[] = [];

  beforeAll(async () => {
    process.env.SANDNS_NO_NATIVE = '1';
    t = await testController();
    const net = await t.controller.newNetwork('bridge', `${tag}net`, {});
    for (const name of ['alpha', 'beta']) {
      const sb = await t.controller.newSandbox(`${tag}-${name}`, { hostname: name });
      const ep = await net.createEndpoint(name);
      await ep.join(sb);
      eps.push(ep);
    }
  });

  afterAll(async () => {
    delete process.env.SANDNS_NO_NATIVE;
    await t?.cleanup();
  });

  it('R1 peers resolve over UDP and TCP through child-acquired listeners', async () => {
    expect(await getentHosts(`${tag}-alpha`, 'beta')).toEqual([eps[1]!.ipv4]);
    expect((await digShort(`${tag}-beta`, ['alpha'], true)).stdout).toBe(eps[0]!.ipv4);
  });
});
