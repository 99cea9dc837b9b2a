import { describe, expect, it } from 'vitest';
import { bridgePlan, normalizeBridgeOptions, type DriverNetwork } from '../../../drivers/index.js';

const net: DriverNetwork = {
  id: 'abcdef0123456789', name: 'n1', subnet: '10.9.0.0/24', gateway: '10.9.0.1',
  subnet6: 'fd00:9::/64', gateway6: 'fd00:9::1', internal: false, options: { mtu: 1400 },
};
const lines = bridgePlan.toIpBatch;

describe('bridge plan', () => {
  it('L2 creates a bridge holding the gateway addresses', () => {
    expect(lines(bridgePlan.planCreateNetwork(net, { mtu: 1400 }))).toEqual([
      'link add sd-abcdef012345 mtu 1400 type bridge',
      'addr add 10.9.0.1/24 dev sd-abcdef012345',
      'addr add fd00:9::1/64 dev sd-abcdef012345 nodad',
      'link set sd-abcdef012345 up',
    ]);
  });

  it('L2 a veth per endpoint with hairpin mode, renamed eth<N> inside with MAC, addresses and the default routes', () => {
    const join = { network: net, endpointId: '0123456789abcdef', ipv4: '10.9.0.2', ipv6: 'fd00:9::2', netnsPath: '/run/netns/x', ifname: 'eth1', defaultRoute: true, mac: '02:42:0a:09:00:02' };
    expect(lines(bridgePlan.planJoinHost(join, { mtu: 1400 }))).toEqual([
      'link add sv0123456789ab mtu 1400 type veth peer name sp0123456789ab mtu 1400 netns /run/netns/x',
      'link set sv0123456789ab master sd-abcdef012345 up',
      'link set dev sv0123456789ab type bridge_slave hairpin on',
    ]);
    expect(lines(bridgePlan.planJoinSandbox(join))).toEqual([
      'link set sp0123456789ab name eth1',
      'link set eth1 address 02:42:0a:09:00:02',
      'addr add 10.9.0.2/24 dev eth1',
      'addr add fd00:9::2/64 dev eth1 nodad',
      'link set eth1 up',
      'route replace default via 10.9.0.1 dev eth1',
      'route replace default via fd00:9::1 dev eth1',
    ]);
  });

  it('issue 12: no batch line carries a global option such as -6 (ip -batch rejects it)', () => {
    const join = { network: net, endpointId: '0123456789abcdef', ipv4: '10.9.0.2', ipv6: 'fd00:9::2', netnsPath: '/run/netns/x', ifname: 'eth0', defaultRoute: true };
    const all = [
      ...bridgePlan.planCreateNetwork(net, {}), ...bridgePlan.planJoinHost(join, {}), ...bridgePlan.planJoinSandbox(join),
      ...bridgePlan.planDefaultRoute(net, 'eth0'), ...bridgePlan.planReattach(['sv1'], 'br'), ...bridgePlan.planDeleteNetwork(net, {}),
    ];
    for (const line of lines(all)) expect(line).not.toMatch(/^-/);
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

  it('issue 12: -o keys mtu and bridge_name, and Docker synonyms, strings as -o gives them', () => {
    expect(normalizeBridgeOptions({ mtu: '1400', bridge_name: 'br-x' })).toEqual({ mtu: 1400, bridgeName: 'br-x' });
    expect(normalizeBridgeOptions({ 'com.docker.network.driver.mtu': '9000', 'com.docker.network.bridge.name': 'dk0' })).toEqual({ mtu: 9000, bridgeName: 'dk0' });
    expect(normalizeBridgeOptions({ mtu: '1400', 'com.docker.network.driver.mtu': 1400 })).toEqual({ mtu: 1400 });
    expect(() => normalizeBridgeOptions({ mtu: '1400', 'com.docker.network.driver.mtu': '1500' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ mtu: '14x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
