import { describe, expect, it } from 'vitest';
import { bridgePlan, normalizeBridgeOptions, type DriverNetwork } from '../../../drivers/index.js';

const net: DriverNetwork = {
  id: 'abcdef0123456789', name: 'n1', subnet: '10.9.0.0/24', gateway: '10.9.0.1',
  subnet6: 'fd00:9::/64', gateway6: 'fd00:9::1', internal: false, options: { mtu: 1400 },
};

describe('bridge plan', () => {
  it('L2 creates a bridge holding the gateway addresses; added and marked in one batch (L4)', () => {
    expect(bridgePlan.planAddBridge(net, { mtu: 1400 })).toEqual(['link add sd-abcdef012345 type bridge', 'link set sd-abcdef012345 alias sandns:net:abcdef0123456789']);
    expect(bridgePlan.planCreateNetwork(net, { mtu: 1400 })).toEqual([
      'link set sd-abcdef012345 mtu 1400',
      'addr add 10.9.0.1/24 dev sd-abcdef012345',
      'addr add fd00:9::1/64 dev sd-abcdef012345 nodad',
      'link set sd-abcdef012345 up',
    ]);
  });

  it('L2 a veth per endpoint, renamed eth<N> inside with addresses and the default route', () => {
    const join = { network: net, endpointId: '0123456789abcdef', ipv4: '10.9.0.2', ipv6: 'fd00:9::2', netnsPath: '/run/netns/x', ifname: 'eth1', defaultRoute: true };
    expect(bridgePlan.planAddVeth(join, { mtu: 1400 })).toEqual([
      'link add sv0123456789ab mtu 1400 type veth peer name sp0123456789ab mtu 1400 netns /run/netns/x',
    ]);
    expect(bridgePlan.planJoinHost(join, { mtu: 1400 })).toEqual(['link set sv0123456789ab master sd-abcdef012345 up']);
    expect(bridgePlan.planJoinSandbox(join)).toEqual([
      'link set sp0123456789ab name eth1',
      'addr add 10.9.0.2/24 dev eth1',
      'addr add fd00:9::2/64 dev eth1 nodad',
      'link set eth1 up',
      'route replace default via 10.9.0.1 dev eth1',
      '-6 route replace default via fd00:9::1 dev eth1',
    ]);
  });

  it('L2 internal networks get no default route', () => {
    expect(bridgePlan.planDefaultRoute({ ...net, internal: true }, 'eth0')).toEqual([]);
  });

  it('L1 bridge options are validated with a typed error', () => {
    expect(normalizeBridgeOptions({ mtu: 9000 })).toEqual({ mtu: 9000 });
    expect(() => normalizeBridgeOptions({ mtu: 10 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ bridgeName: 'way-too-long-bridge-name' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ colour: 'blue' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
