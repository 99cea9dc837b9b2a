import { describe, expect, it } from 'vitest';
import { normalizeSandboxOptions } from '../../../controller/options.js';

describe('extraHosts entries', () => {
  it('L1 each entry is exactly {name, ip}: an unknown field is 400 ERR_INVALID_OPTION naming it, as everywhere else in a body', () => {
    const make = (extraHosts: unknown[]) => normalizeSandboxOptions('web', { external: true, extraHosts: extraHosts as never }, '/etc/netns');
    expect(make([{ name: 'h', ip: '10.1.1.1' }]).extraHosts).toEqual([{ name: 'h', ip: '10.1.1.1' }]);
    for (const bad of [{ name: 'h', ip: '10.1.1.1', ttl: 5 }, { name: 'h', ip: '10.1.1.1', Name: 'x' }, { name: 'h', address: '10.1.1.1' }]) {
      expect(() => make([bad]), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', status: 400, details: expect.objectContaining({ field: 'extraHosts' }) }));
    }
  });
});
