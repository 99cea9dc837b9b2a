/**
 * A closed controller refuses new work with ERR_CONTROLLER_CLOSED as a rejected promise, never a synchronous throw:
 * callers chain `.catch()` on these operations (controller/keys.ts undoes a key with `ep.join(...).catch(...)`), and a
 * throw would escape the chain.
 */
import { describe, expect, it } from 'vitest';
import { createController } from '../../../controller/index.js';
import { silentLogger } from '../../../common/log.js';

describe('a closed controller', () => {
  it('rejects newNetwork, newSandbox, createEndpoint and join; it does not throw', async () => {
    const c = createController({ logger: silentLogger(), originResolvConf: '/nonexistent/resolv.conf', firewall: false, watchOrigin: false });
    await c.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['newNetwork', () => c.newNetwork('bridge', 'n1')],
      ['newSandbox', () => c.newSandbox('s1')],
      ['createEndpoint', () => c.createEndpoint({} as never, 'e1', {})],
      ['join', () => c.join({} as never, {} as never, {})],
    ];
    for (const [name, call] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call()), name).not.toThrow();
      await expect(p, name).rejects.toMatchObject({ code: 'ERR_CONTROLLER_CLOSED' });
    }
  });
});
