/**
 * Pure CNI pieces: CNI_ARGS, result shapes across versions, the dns merge,
 * chained addresses, network bodies and differences, deferred records.
 */
import { describe, expect, it } from 'vitest';
import { parseCniArgs, parseConfig, parseResult, renderResult, sandboxIdOf, endpointNameOf, withSandnsDns, deferredDirOf, parseDeferred, deferredApplied } from '../../../cni/index.js';
import { chainedAddresses, chainedNetworkBody, mainNetworkBody, mainNetworkDifferences } from '../../../cni/network.js';
import { delRecord } from '../../../cni/pending.js';

describe('CNI_ARGS and names', () => {
  it('K5 parses K=V pairs, keeps "=" inside values, skips empty pairs', () => {
    expect([...parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web;;X=a=b')]).toEqual([['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web'], ['X', 'a=b']]);
    expect(parseCniArgs('').size).toBe(0);
  });

  it('K5 the name is K8S_POD_NAME, else the short id (first 12) of a hex container id; long or odd ids get a stable sandbox id', () => {
    expect(endpointNameOf('0123456789abcdef', new Map([['K8S_POD_NAME', 'web']]))).toBe('web');
    expect(endpointNameOf('0123456789abcdef', new Map())).toBe('0123456789ab');
    expect(sandboxIdOf('a'.repeat(64))).toBe('a'.repeat(64));
    const long = sandboxIdOf('x'.repeat(65));
    expect(long).toMatch(/^cni-[0-9a-f]{40}$/);
    expect(sandboxIdOf('x'.repeat(65))).toBe(long);
  });
});

describe('result shapes', () => {
  const v04 = {
    cniVersion: '0.4.0', interfaces: [{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', sandbox: '/run/netns/x' }],
    ips: [{ version: '4', interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' }, { version: '6', interface: 0, address: 'fd00::5/64' }],
    routes: [{ dst: '0.0.0.0/0' }], dns: {},
  };

  it('K1 a 0.4.0 result parses to the 1.0.0 shape and renders back identical', () => {
    const r = parseResult(v04);
    expect(r.ips).toEqual([{ interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' }, { interface: 0, address: 'fd00::5/64' }]);
    expect(renderResult(r, '0.4.0')).toEqual(v04);
    expect((renderResult(r, '1.0.0').ips as object[])[1]).toEqual({ interface: 0, address: 'fd00::5/64' });
  });

  it('K6 dns: 127.0.0.11 is the only nameserver; search and options merge without repeats', () => {
    const r = withSandnsDns({ cniVersion: '1.0.0', dns: { nameservers: ['10.0.0.1'], search: ['a.example'], options: ['ndots:0'] } }, { search: ['b.example', 'a.example'], options: ['ndots:0', 'timeout:1'], domain: 'x' });
    expect(r.dns).toEqual({ nameservers: ['127.0.0.11'], domain: 'x', search: ['b.example', 'a.example'], options: ['ndots:0', 'timeout:1'] });
  });

  it('K4 chained addresses are those of CNI_IFNAME inside the container; the subnet is the address\'s network', () => {
    const a = chainedAddresses(parseResult(v04), 'eth0');
    expect(a).toEqual({ ipv4: { address: '10.1.0.5', subnet: '10.1.0.0/24', gateway: '10.1.0.1' }, ipv6: { address: 'fd00::5', subnet: 'fd00::/64' } });
    expect(chainedNetworkBody('n', a)).toEqual({ name: 'n', driver: 'external', subnet: '10.1.0.0/24', gateway: '10.1.0.1', subnet6: 'fd00::/64' });
    expect(() => chainedAddresses(parseResult(v04), 'eth1')).toThrow(/no IPv4 address for interface eth1/);
  });
});

describe('main-mode network', () => {
  const conf = parseConfig({ cniVersion: '1.0.0', name: 'n', type: 'sandns', subnet: '10.2.0.0/24', mtu: 1400, bridge: 'br-n', internal: false });

  it('K3 the body carries the keys given and the bridge options', () => {
    expect(mainNetworkBody(conf)).toEqual({ name: 'n', driver: 'bridge', subnet: '10.2.0.0/24', internal: false, driverOptions: { bridgeName: 'br-n', mtu: 1400 } });
  });

  it('K3 differences name each contradicted key; absent keys never differ', () => {
    const net = { id: 'x', name: 'n', driver: 'bridge', subnet: '10.2.0.0/24', gateway: '10.2.0.1', internal: true, ttl: 600, driverOptions: { mtu: 1500, bridgeName: 'br-n' } };
    expect(mainNetworkDifferences(net, conf)).toEqual(['internal is true, the configuration says false', 'mtu is 1500, the configuration says 1400']);
    expect(mainNetworkDifferences({ ...net, driver: 'external', internal: false, driverOptions: { mtu: 1400, bridgeName: 'br-n' } }, conf)[0]).toMatch(/driver is "external"/);
  });

  it('K5 runtimeConfig keys not declared in capabilities are ignored; with capabilities stripped (libcni) they are used', () => {
    const rc = { aliases: { n: ['www'] }, portMappings: [{ hostPort: 80, containerPort: 80 }] };
    const declared = parseConfig({ cniVersion: '1.0.0', name: 'n', type: 'sandns', capabilities: { aliases: true }, runtimeConfig: rc });
    expect(declared.runtime.aliases).toEqual(['www']);
    expect(declared.runtime.portMappings).toEqual([]);
    const stripped = parseConfig({ cniVersion: '1.0.0', name: 'n', type: 'sandns', runtimeConfig: rc });
    expect(stripped.runtime.portMappings).toEqual([{ hostPort: 80, containerPort: 80, protocol: 'tcp' }]);
  });
});

describe('deferred records', () => {
  it('K9 the directory is beside the socket; a record round-trips; junk is not a record', () => {
    expect(deferredDirOf('/run/sandns/sandns.sock')).toBe('/run/sandns/deferred');
    const rec = delRecord('sb1', 'net1', 'eth0', new Date(0));
    expect(parseDeferred(JSON.stringify(rec))).toEqual(rec);
    expect(rec.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /networks/net1/disconnect', 'DELETE /sandboxes/sb1?ifEmpty=true']);
    expect(parseDeferred('{"kind":"sandns-deferred","version":1,"sandbox":"x","requests":[{"method":"GET","path":"/"}]}')).toBeUndefined();
    expect(parseDeferred('not json')).toBeUndefined();
  });

  it('K9 applied means 2xx, 404, or one of the request\'s done codes', () => {
    const [disc, del] = delRecord('sb1', 'net1', 'eth0', new Date(0)).requests;
    expect(deferredApplied(disc!, 200, undefined)).toBe(true);
    expect(deferredApplied(disc!, 404, 'ERR_ENDPOINT_NOT_FOUND')).toBe(true);
    expect(deferredApplied(del!, 409, 'ERR_SANDBOX_IN_USE')).toBe(true);
    expect(deferredApplied(disc!, 409, 'ERR_SANDBOX_IN_USE')).toBe(false);
    expect(deferredApplied(del!, 500, 'ERR_API_INTERNAL')).toBe(false);
  });
});
