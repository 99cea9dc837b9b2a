/**
 * Interface names as the kernel takes them (common/ifname.ts), and the two
 * doors that check them: the controller's join option and CNI_IFNAME.
 */
import { describe, expect, it } from 'vitest';
import { ifnameProblem } from '../../../common/ifname.js';
import { checkIfname, checkMac } from '../../../controller/options.js';
import { parseInvocation } from '../../../cni/env.js';

const OK = ['eth0', 'e', 'net1', 'veth-abc_1.2', 'x'.repeat(15), 'é'.repeat(7) + 'a', 'Eth0'];
const BAD: [string, RegExp][] = [
  ['', /empty/],
  ['x'.repeat(16), /16 bytes/],
  ['é'.repeat(8), /16 bytes/], // 8 characters, 16 bytes: IFNAMSIZ counts bytes
  ['.', /"\."/],
  ['..', /"\.\."/],
  ['eth/0', /"\/"/],
  ['eth:0', /":"/],
  ['eth%d', /"%"/], // the kernel would name it eth0, eth1 ...
  ['eth 0', /U\+0020/],
  ['eth\t0', /U\+0009/],
  ['eth\u00000', /U\+0000/], // a NUL would cut the name short
  ['eth\u007f', /U\+007F/],
  ['eth\u00a00', /U\+00A0/], // no-break space: whitespace too
];

describe('interface names', () => {
  it.each(OK)('L8 %j is taken as it is', (name) => {
    expect(ifnameProblem(name)).toBeUndefined();
    expect(checkIfname(name)).toBe(name);
  });

  it.each(BAD)('L8 %j is refused, saying why', (name, why) => {
    expect(ifnameProblem(name)).toMatch(why);
    expect(() => checkIfname(name)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', status: 400 }));
    const cni = (() => {
      try {
        parseInvocation({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: name, CNI_PATH: '/usr/lib/cni' });
        return undefined;
      } catch (err) {
        return err as { code?: unknown; message?: string };
      }
    })();
    expect(cni?.message).toMatch(/CNI_IFNAME|empty/);
  });

  it('L8 a MAC address of all zeros is refused like a multicast one (the kernel would answer EADDRNOTAVAIL)', () => {
    expect(() => checkMac('macAddress', '00:00:00:00:00:00')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: expect.stringMatching(/not a usable address/) }));
    expect(() => checkMac('macAddress', '00-00-00-00-00-00')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => checkMac('macAddress', '01:00:5e:00:00:01')).toThrow(expect.objectContaining({ message: expect.stringMatching(/multicast/) }));
    expect(checkMac('macAddress', '00:00:00:00:00:01')).toBe('00:00:00:00:00:01');
  });
});
