import { describe, expect, it } from 'vitest';
import { addressOfReverseName as reverseNameToAddress, reverseName as addressToReverseName } from '../../../common/ip.js';
import { isReverseName } from '../../../resolver/reverse.js';

describe('reverse names (R5, Docker)', () => {
  it.each([
    ['4.3.2.1.in-addr.arpa', '1.2.3.4'],
    ['1.0.168.192.in-addr.arpa', '192.168.0.1'],
    ['2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.a.a.2.b.d.5.4.0.6.e.d.f.ip6.arpa', 'fde6:45d:b2aa::2'],
    ['3.2.1.in-addr.arpa', undefined],
    ['5.4.3.2.1.in-addr.arpa', undefined],
    ['256.3.2.1.in-addr.arpa', undefined],
    ['04.3.2.1.in-addr.arpa', undefined],
    ['x.3.2.1.in-addr.arpa', undefined],
    ['8.b.d.0.1.0.0.2.ip6.arpa', undefined],
    ['in-addr.arpa', undefined],
    ['4.3.2.1.in-addr.arpa.example', undefined],
    ['web', undefined],
  ])('R5 %s → %s', (name, ip) => {
    expect(reverseNameToAddress(name)).toBe(ip);
  });

  it.each(['1.2.3.4', '10.0.0.255', 'fd00::1', '2001:db8:0:0:1::', '::'])('R5 %s round-trips through its reverse name', (ip) => {
    const name = addressToReverseName(ip)!;
    expect(name.endsWith('.arpa.')).toBe(true);
    const back = reverseNameToAddress(name.slice(0, -1));
    expect(addressToReverseName(back!)).toBe(name);
  });

  it('R5 isReverseName is true only under the two zones; invalid addresses have no reverse name', () => {
    expect([isReverseName('1.in-addr.arpa'), isReverseName('x.ip6.arpa'), isReverseName('arpa'), isReverseName('in-addr.arpa')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(addressToReverseName('10.0.0.0/8')).toBeUndefined();
    expect(addressToReverseName('nope')).toBeUndefined();
  });
});
