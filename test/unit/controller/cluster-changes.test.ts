/**
 * M2: what another host (or anyone) wrote to the cluster store never stops this host from applying the rest. A
 * change that decodes but that the model refuses (a gateway outside its subnet), and a driver whose entry sync
 * throws, are skipped and logged; the rest of the batch applies, and nothing is thrown into the etcd client's
 * handler (which would rethrow it and end the process). Fakes only; no etcd, no kernel.
 */
import { describe, expect, it } from 'vitest';
import { ClusterBinding } from '../../../controller/cluster.js';
import type { ControllerCore } from '../../../controller/core.js';
import type { Network } from '../../../controller/network.js';
import { DriverRegistry, type Driver, type DriverPeer } from '../../../drivers/index.js';
import { silentLogger } from '../../../common/log.js';
import type { ClusterStore, MirrorChange, NetworkSpec, RemoteRecord } from '../../../store/index.js';

const spec = (name: string, subnet: string, gateway: string, driver = 'fake'): NetworkSpec => ({
  id: `id-${name}`, name, driver, subnet, gateway, internal: false, ttl: 600, dns: [], options: {},
});
const record = (id: string, ipv4: string, names: string[]): RemoteRecord => ({ id, member: 'm1', names, ipv4, ports: [], mac: '02:42:0a:00:00:02' });

function setup(): { binding: ClusterBinding; networks: Map<string, Network>; synced: string[] } {
  const networks = new Map<string, Network>();
  const synced: string[] = [];
  const driver = {
    name: 'fake', dataScope: 'global',
    validateOptions: (o: Record<string, unknown>) => o,
    setPeers: (n: { name: string }, peers: DriverPeer[]) => {
      if (n.name === 'sick') throw new TypeError('cannot read properties of undefined');
      synced.push(`${n.name}:${peers.length}`);
    },
  } as unknown as Driver;
  const store = {
    member: 'me', advertise: '192.0.2.1',
    claimsOf: () => [], recordsOf: (n: string) => (n === 'g' ? [record('e1', '10.9.0.2', ['web'])] : []),
    members: () => [{ id: 'm1', advertise: '192.0.2.2', hostname: 'b', since: 1 }],
  } as unknown as ClusterStore;
  const binding = new ClusterBinding({
    store, logger: silentLogger(), core: {} as ControllerCore, drivers: new DriverRegistry([driver]),
    networks: () => [...networks.values()], addNetwork: (n) => void networks.set(n.id, n), removeNetwork: (n) => void networks.delete(n.id),
    disconnect: async () => undefined,
  });
  return { binding, networks, synced };
}

describe('cluster changes this host cannot apply are skipped (M2)', () => {
  it('a network the model refuses (gateway outside the subnet, unknown driver) is skipped; the rest of the batch applies', () => {
    const { binding, networks } = setup();
    const changes: MirrorChange[] = [
      { kind: 'network', op: 'put', spec: spec('bad', '10.8.0.0/24', '10.9.0.1') },
      { kind: 'network', op: 'put', spec: spec('nodriver', '10.7.0.0/24', '10.7.0.1', 'nosuch') },
      { kind: 'network', op: 'put', spec: spec('g', '10.9.0.0/24', '10.9.0.1') },
      { kind: 'record', op: 'put', network: 'g', record: record('e2', '10.9.0.3', ['api']) },
    ];
    expect(() => binding.changes(changes)).not.toThrow();
    expect([...networks.values()].map((n) => n.name)).toEqual(['g']);
    const g = [...networks.values()][0]!;
    expect(g.records.size).toBe(2); // web (listed with the network) and api (the record change)
  });

  it('a driver whose entry sync throws for one network: logged, the other networks are still synced', () => {
    const { binding, synced } = setup();
    binding.changes([
      { kind: 'network', op: 'put', spec: spec('sick', '10.6.0.0/24', '10.6.0.1') },
      { kind: 'network', op: 'put', spec: spec('g', '10.9.0.0/24', '10.9.0.1') },
    ]);
    expect(() => binding.changes([{ kind: 'member', op: 'put', member: { id: 'm1', advertise: '192.0.2.2', hostname: 'b', since: 1 } }])).not.toThrow();
    expect(synced).toContain('g:1');
  });
});
