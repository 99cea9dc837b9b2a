import { describe, expect, it } from 'vitest';
import { Firewall, firewallPlan, type FirewallIo, type FirewallNetwork } from '../../../../drivers/index.js';

/** A fake world: records nft batches, refuses ports listed as busy, counts open holds. */
function fakeIo(busy: string[] = []) {
  const batches: firewallPlan.NftCommand[][] = [];
  const held = new Set<string>();
  let failNext = false;
  const io: FirewallIo = {
    async apply(c) {
      if (failNext) {
        failNext = false;
        throw new Error('table changed behind our back');
      }
      batches.push([...c]);
    },
    enableForwarding: async () => false,
    enableRouteLocalnet: async () => undefined,
    async holdPort(hostIp, port, protocol) {
      const key = `${hostIp ?? '*'}:${port}/${protocol}`;
      if (busy.includes(key)) return 'in-use';
      if (hostIp === '192.0.2.99') return 'not-local';
      held.add(key);
      return { close: async () => void held.delete(key) };
    },
  };
  return { io, batches, held, failNext: () => (failNext = true) };
}

const net: FirewallNetwork = { id: 'n1', bridge: 'br1', internal: false, subnet: '10.1.0.0/24' };
const code = (c: string) => expect.objectContaining({ code: c });

describe('network stack: Firewall', () => {
  it('the first network makes the table (a rebuild), later changes are element batches; the last network drops the table', async () => {
    const w = fakeIo();
    const fw = new Firewall(w.io);
    await fw.addNetwork(net);
    await fw.addNetwork({ ...net, id: 'n2', bridge: 'br2', subnet: '10.2.0.0/24' });
    expect(w.batches[0]!.some((c) => 'delete' in c && 'table' in (c.delete as object))).toBe(true);
    expect(w.batches[1]!.every((c) => 'add' in c && 'element' in (c.add as object))).toBe(true);
    await fw.removeNetwork('n2');
    expect(w.batches[2]!.every((c) => 'delete' in c && 'element' in (c.delete as object))).toBe(true);
    await fw.removeNetwork('n1');
    expect(JSON.stringify(w.batches[3])).toBe(JSON.stringify(firewallPlan.planDropTable('sandns')));
    await fw.removeNetwork('n1'); // idempotent
    expect(w.batches).toHaveLength(4);
  });

  it('ERR_PORT_ALLOCATED for a port of another endpoint (clashing address) or of another process; nothing stays held', async () => {
    const w = fakeIo(['*:9000/tcp']);
    const fw = new Firewall(w.io);
    await fw.reserve('e1', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    await expect(fw.reserve('e2', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }])).rejects.toThrow(code('ERR_PORT_ALLOCATED'));
    await expect(fw.reserve('e2', [{ hostPort: 8081, containerPort: 81, protocol: 'tcp' }, { hostPort: 9000, containerPort: 80, protocol: 'tcp' }])).rejects.toThrow(code('ERR_PORT_ALLOCATED'));
    expect([...w.held]).toEqual(['*:8080/tcp']); // 8081 was given back
    // Other protocol, or two distinct specific addresses: no clash.
    await fw.reserve('e3', [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    await fw.reserve('e4', [{ hostIp: '10.0.0.1', hostPort: 7000, containerPort: 80, protocol: 'tcp' }]);
    await fw.reserve('e5', [{ hostIp: '10.0.0.2', hostPort: 7000, containerPort: 80, protocol: 'tcp' }]);
    await expect(fw.reserve('e6', [{ hostIp: '0.0.0.0', hostPort: 7000, containerPort: 80, protocol: 'tcp' }])).rejects.toThrow(code('ERR_PORT_ALLOCATED'));
    // An IPv6-only wildcard does not clash with IPv4 addresses.
    await fw.reserve('e7', [{ hostIp: '::', hostPort: 7000, containerPort: 80, protocol: 'tcp' }]);
    await expect(fw.reserve('e8', [{ hostIp: '192.0.2.99', hostPort: 1, containerPort: 1, protocol: 'tcp' }])).rejects.toThrow(code('ERR_INVALID_OPTION'));
    await fw.release('e1');
    await fw.reserve('e9', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  });

  it('ephemeral ports: concurrent reservations never collide; a busy port is skipped; ranges pick the first free', async () => {
    const w = fakeIo(['*:30001/tcp']);
    const fw = new Firewall(w.io, { portRange: { first: 30000, last: 30049 } });
    const got = await Promise.all(Array.from({ length: 49 }, (_, i) => fw.reserve(`e${i}`, [{ containerPort: 80, protocol: 'tcp' }])));
    const ports = got.map((m) => m[0]!.hostPort);
    expect(new Set(ports).size).toBe(49);
    expect(ports).not.toContain(30001);
    await expect(fw.reserve('x', [{ containerPort: 80, protocol: 'tcp' }])).rejects.toThrow(code('ERR_PORT_NO_FREE'));
    const r = await fw.reserve('y', [{ hostPort: 30000, hostPortEnd: 30100, containerPort: 80, protocol: 'udp' }]);
    expect(r).toEqual([{ hostPort: 30000, containerPort: 80, protocol: 'udp' }]);
  });

  it('publish and unpublish are element batches; a change that fails is retried as a rebuild from the model', async () => {
    const w = fakeIo();
    const fw = new Firewall(w.io);
    await fw.addNetwork(net);
    const ep = { endpointId: 'e', networkId: 'n1', ipv4: '10.1.0.2', mappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };
    w.failNext();
    await fw.publish(ep);
    const rebuilt = w.batches.at(-1)!;
    expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [net], [ep])));
    await fw.unpublish('e');
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planUnpublish('sandns', ep)));
    await fw.unpublish('e');
    expect(w.batches).toHaveLength(3);
  });

  it('restore: ports held again and the whole table in one transaction', async () => {
    const w = fakeIo();
    const fw = new Firewall(w.io);
    const ep = { endpointId: 'e', networkId: 'n1', ipv4: '10.1.0.2', mappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };
    await fw.restore([net], new Map([['e', ep.mappings]]), [ep]);
    expect(w.batches).toHaveLength(1);
    expect(JSON.stringify(w.batches[0])).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [net], [ep])));
    expect([...w.held]).toEqual(['*:8080/tcp']);
    await expect(fw.reserve('f', [{ hostPort: 8080, containerPort: 1, protocol: 'tcp' }])).rejects.toThrow(code('ERR_PORT_ALLOCATED'));
    await fw.close();
    expect(w.held.size).toBe(0);
  });
});

describe('network stack: ruleset shapes', () => {
  it('a mapping on every address of both families becomes an address and a port element per family', () => {
    const ep = { endpointId: 'e', networkId: 'n', ipv4: '10.1.0.2', ipv6: 'fd00::2', mappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };
    const maps = firewallPlan.planPublish('t', ep).map((c) => (c.add as { element: { name: string; elem: unknown[] } }).element);
    expect(maps.map((m) => m.name).sort()).toEqual(['pub4any_addr', 'pub4any_port', 'pub6any_addr', 'pub6any_port']);
    expect(maps.find((m) => m.name === 'pub6any_addr')!.elem).toEqual([[{ concat: ['tcp', 8080] }, 'fd00::2']]);
    const del = firewallPlan.planUnpublish('t', ep).map((c) => (c.delete as { element: { elem: unknown[] } }).element.elem);
    expect(del).toContainEqual([{ concat: ['tcp', 8080] }]);
  });

  it('the rules never change with the number of ports: 1,000 mappings add elements, not rules', () => {
    const mappings = Array.from({ length: 1000 }, (_, i) => ({ hostPort: 20000 + i, containerPort: 80, protocol: 'tcp' as const }));
    const plan = firewallPlan.planRebuild('t', [net], [{ endpointId: 'e', networkId: 'n1', ipv4: '10.1.0.2', mappings }]);
    const rules = plan.filter((c) => 'add' in c && 'rule' in (c.add as object));
    expect(rules.length).toBe(firewallPlan.planRebuild('t', [net], []).filter((c) => 'add' in c && 'rule' in (c.add as object)).length);
  });

  it('an internal network jumps to from_internal and is not in egress', () => {
    const p = JSON.stringify(firewallPlan.planAddNetwork('t', { ...net, internal: true }));
    expect(p).toContain('from_internal');
    expect(p).not.toContain('"egress"');
  });
});

describe('UDP flows of published ports (conntrack)', () => {
  it('publish and unpublish forget the UDP flows to each host port, per family the mapping covers; TCP has none; a failure is only logged', async () => {
    const w = fakeIo();
    const flushed: string[][] = [];
    let fail = false;
    const fw = new Firewall({
      ...w.io,
      async flushConntrack(flows) {
        flushed.push(flows.map((f) => `${f.family}/${f.port}`));
        if (fail) throw new Error('conntrack: not found');
      },
    });
    await fw.addNetwork({ ...net, subnet6: 'fd00:1::/64' });
    const mappings = [
      { hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
      { hostIp: '127.0.0.1', hostPort: 5354, containerPort: 53, protocol: 'udp' as const },
      { hostIp: 'fd00:9::1', hostPort: 5355, containerPort: 53, protocol: 'udp' as const },
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
    ];
    const ep = { networkId: 'n1', endpointId: 'e1', ipv4: '10.1.0.2', ipv6: 'fd00:1::2', mappings };
    await fw.publish(ep);
    expect(flushed).toEqual([['4/5353', '6/5353', '4/5354', '6/5355']]);
    fail = true;
    await expect(fw.unpublish('e1')).resolves.toBeUndefined();
    expect(flushed[1]).toEqual(['4/5353', '6/5353', '4/5354', '6/5355']);
    await fw.unpublish('e1'); // nothing published any more: nothing to forget
    await fw.publish({ ...ep, endpointId: 'e2', ipv6: undefined, mappings: [mappings[0]!, mappings[3]!] });
    expect(flushed).toHaveLength(3);
    expect(flushed[2]).toEqual(['4/5353']);
    await fw.publish({ ...ep, endpointId: 'e3', mappings: [mappings[3]!] });
    expect(flushed).toHaveLength(3);
  });
});
