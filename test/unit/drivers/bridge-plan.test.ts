import { describe, expect, it } from 'vitest';
import { bridgePlan, normalizeBridgeOptions, type DriverNetwork } from '../../../drivers/index.js';

const net: DriverNetwork = {
  id: 'abcdef0123456789', name: 'n1', subnet: '10.9.0.0/24', gateway: '10.9.0.1',
  subnet6: 'fd00:9::/64', gateway6: 'fd00:9::1', internal: false, options: { mtu: 1400 },
};
const render = (ops: readonly bridgePlan.LinkOp[]): string[] => ops.map(bridgePlan.renderOp);
const join = { network: net, endpointId: '0123456789abcdef', ipv4: '10.9.0.2', ipv6: 'fd00:9::2', netnsPath: '/run/netns/x', ifname: 'eth1', defaultRoute: true };

describe('bridge plan', () => {
  it('L2 creates a bridge holding the gateway addresses; added and marked on their own first (L4)', () => {
    // The MAC derived from the id marks the bridge in the request that makes it (the ifalias cannot be set on create).
    expect(bridgePlan.bridgeMac(net)).toBe('02:ab:cd:ef:01:23');
    expect(render(bridgePlan.planAddBridge(net, { mtu: 1400 }))).toEqual(['link add sd-abcdef012345 mtu 1400 address 02:ab:cd:ef:01:23 type bridge', 'link set sd-abcdef012345 alias sandns:net:abcdef0123456789']);
    expect(bridgePlan.planAddBridge(net, { mtu: 1400 })[0]).toEqual({ kind: 'bridge-add', name: 'sd-abcdef012345', mtu: 1400, address: bridgePlan.bridgeMac(net) });
    expect(render(bridgePlan.planCreateNetwork(net, { mtu: 1400 }))).toEqual([
      'addr add 10.9.0.1/24 dev sd-abcdef012345',
      'addr add fd00:9::1/64 dev sd-abcdef012345 nodad',
      'link set sd-abcdef012345 up',
    ]);
    expect(render(bridgePlan.planAddBridge(net, { bridgeName: 'br-x' }))).toEqual(['link add br-x address 02:ab:cd:ef:01:23 type bridge', 'link set br-x alias sandns:net:abcdef0123456789']);
    expect(render(bridgePlan.planCreateNetwork({ ...net, subnet6: undefined, gateway6: undefined }, { bridgeName: 'br-x' }))).toEqual([
      'addr add 10.9.0.1/24 dev br-x',
      'link set br-x up',
    ]);
  });

  it('L2 a veth per endpoint, created on the bridge and up, as eth<N> inside; its host end a hairpin port; addresses and the default routes inside', () => {
    expect(bridgePlan.planAddVeth(join, { mtu: 1400 })).toEqual([
      { kind: 'veth-add', name: 'sv0123456789ab', peer: 'eth1', peerNetns: '/run/netns/x', mtu: 1400, master: 'sd-abcdef012345', peerAddress: undefined, up: true },
    ]);
    expect(bridgePlan.planJoinHost(join)).toEqual([{ kind: 'port-set', dev: 'sv0123456789ab', hairpin: true }]);
    expect(render([...bridgePlan.planAddVeth(join, { mtu: 1400 }), ...bridgePlan.planJoinHost(join)])).toEqual([
      'link add sv0123456789ab mtu 1400 master sd-abcdef012345 up type veth peer name eth1 mtu 1400 netns /run/netns/x',
      'link set dev sv0123456789ab type bridge_slave hairpin on',
    ]);
    expect(render(bridgePlan.planJoinSandbox(join))).toEqual([
      'addr add 10.9.0.2/24 dev eth1',
      'addr add fd00:9::2/64 dev eth1 nodad',
      'link set eth1 up',
      'route replace default via 10.9.0.1 dev eth1',
      '-6 route replace default via fd00:9::1 dev eth1',
    ]);
  });

  it('L2 a given MAC address is the peer\'s from its creation, before it comes up; no default route when not asked', () => {
    const withMac = { ...join, ipv6: undefined, mac: '02:42:0a:09:00:02', defaultRoute: false };
    expect(render(bridgePlan.planAddVeth(withMac, { bridgeName: 'br-x' }))).toEqual([
      'link add sv0123456789ab master br-x up type veth peer name eth1 address 02:42:0a:09:00:02 netns /run/netns/x',
    ]);
    expect(render(bridgePlan.planJoinSandbox(withMac))).toEqual(['addr add 10.9.0.2/24 dev eth1', 'link set eth1 up']);
  });

  it('network stack: a dual-stack network routes both families by default, each route in its gateway\'s family', () => {
    expect(bridgePlan.planDefaultRoute(net, 'eth0')).toEqual([
      { kind: 'route-default', gateway: '10.9.0.1', dev: 'eth0' },
      { kind: 'route-default', gateway: 'fd00:9::1', dev: 'eth0' },
    ]);
  });

  it('L2 internal networks get no default route', () => {
    expect(bridgePlan.planDefaultRoute({ ...net, internal: true }, 'eth0')).toEqual([]);
    expect(render(bridgePlan.planDefaultRoute({ ...net, gateway6: undefined }, 'eth0'))).toEqual(['route replace default via 10.9.0.1 dev eth0']);
  });

  it('L3 delete is idempotent; reattach puts kept veths back on the bridge as hairpin ports', () => {
    expect(bridgePlan.planDeleteNetwork(net, {})).toEqual([{ kind: 'link-del', dev: 'sd-abcdef012345', ifExists: true }]);
    expect(render(bridgePlan.planReattach('br0', ['sva', 'svb']))).toEqual([
      'link set sva master br0 up', 'link set dev sva type bridge_slave hairpin on',
      'link set svb master br0 up', 'link set dev svb type bridge_slave hairpin on',
    ]);
    expect(bridgePlan.planReattach('br0', [])).toEqual([]);
  });

  it('renders every operation kind, hairpin off included', () => {
    expect(bridgePlan.renderOp({ kind: 'port-set', dev: 'sv1', hairpin: false })).toBe('link set dev sv1 type bridge_slave hairpin off');
    expect(bridgePlan.renderOp({ kind: 'link-set', dev: 'eth0', mtu: 9000, up: false })).toBe('link set eth0 mtu 9000 down');
    expect(bridgePlan.renderOp({ kind: 'link-del', dev: 'sv1' })).toBe('link del sv1');
  });

  it('L1 bridge options are validated with a typed error', () => {
    expect(normalizeBridgeOptions({ mtu: 9000 })).toEqual({ mtu: 9000 });
    expect(() => normalizeBridgeOptions({ mtu: 10 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ bridgeName: 'way-too-long-bridge-name' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ colour: 'blue' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });

  it('network stack: -o keys mtu and bridge_name, and Docker synonyms, strings as -o gives them', () => {
    expect(normalizeBridgeOptions({ mtu: '1400', bridge_name: 'br-x' })).toEqual({ mtu: 1400, bridgeName: 'br-x' });
    expect(normalizeBridgeOptions({ 'com.docker.network.driver.mtu': '9000', 'com.docker.network.bridge.name': 'dk0' })).toEqual({ mtu: 9000, bridgeName: 'dk0' });
    expect(normalizeBridgeOptions({ mtu: '1400', 'com.docker.network.driver.mtu': 1400 })).toEqual({ mtu: 1400 });
    expect(() => normalizeBridgeOptions({ mtu: '1400', 'com.docker.network.driver.mtu': '1500' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeBridgeOptions({ mtu: '14x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
