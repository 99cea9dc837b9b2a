/**
 * nft refusing a whole change (each apply is one transaction, so nothing of
 * it happened), as it does when the daemon is out of file descriptors and
 * cannot even spawn nft: the firewall's model must not drift from the
 * kernel's table. A refused network removal puts the network back (a retry
 * removes its elements); a refused unpublish, whose leave has happened,
 * keeps the removal in the model and rebuilds the table later, backing off
 * while nft keeps refusing; any change meanwhile is a rebuild.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Firewall, firewallPlan, type FirewallIo, type FirewallNetwork } from '../../../../drivers/index.js';

function refusingIo() {
  const batches: firewallPlan.NftCommand[][] = [];
  let refused = 0;
  const state = { refuse: false, holdsFail: false };
  const io: FirewallIo = {
    async apply(c) {
      if (state.refuse) {
        refused++;
        throw Object.assign(new Error('spawn nft EMFILE'), { code: 'EMFILE' });
      }
      batches.push([...c]);
    },
    enableForwarding: async () => false,
    enableRouteLocalnet: async () => undefined,
    async holdPort() {
      if (state.holdsFail) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      return { close: async () => undefined };
    },
  };
  return { io, batches, state, refused: () => refused };
}

const n1: FirewallNetwork = { id: 'n1', bridge: 'br1', internal: false, subnet: '10.1.0.0/24' };
const n2: FirewallNetwork = { id: 'n2', bridge: 'br2', internal: false, subnet: '10.2.0.0/24' };
const ep = { endpointId: 'e', networkId: 'n1', ipv4: '10.1.0.2', mappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };

afterEach(() => {
  vi.useRealTimers();
});

describe('network stack: Firewall when nft refuses', () => {
  it('a refused network removal throws and keeps the network in the model; the retry deletes its elements', async () => {
    const w = refusingIo();
    const fw = new Firewall(w.io);
    await fw.addNetwork(n1);
    await fw.addNetwork(n2);
    w.state.refuse = true;
    await expect(fw.removeNetwork('n2')).rejects.toMatchObject({ code: 'EMFILE' });
    expect(w.refused()).toBe(2); // the change, then the rebuild from the model
    w.state.refuse = false;
    await fw.removeNetwork('n2');
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planDeleteNetwork('sandns', n2)));
    // The last network: a refused table drop keeps it too.
    w.state.refuse = true;
    await expect(fw.removeNetwork('n1')).rejects.toMatchObject({ code: 'EMFILE' });
    w.state.refuse = false;
    await fw.removeNetwork('n1');
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planDropTable('sandns')));
  });

  it('a refused unpublish does not throw; the table is rebuilt without it later, backing off while nft refuses; a change meanwhile is a rebuild', async () => {
    vi.useFakeTimers();
    const w = refusingIo();
    const fw = new Firewall(w.io);
    await fw.addNetwork(n1);
    await fw.publish(ep);
    w.state.refuse = true;
    await expect(fw.unpublish('e')).resolves.toBeUndefined();
    const before = w.batches.length;
    await vi.advanceTimersByTimeAsync(500); // first retry: refused again
    expect(w.refused()).toBe(3);
    await vi.advanceTimersByTimeAsync(999); // backing off: 1 s now
    expect(w.refused()).toBe(3);
    w.state.refuse = false;
    await vi.advanceTimersByTimeAsync(1);
    expect(w.batches.length).toBe(before + 1);
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [n1], [])));
    await vi.advanceTimersByTimeAsync(60_000); // synced: nothing more
    expect(w.batches.length).toBe(before + 1);

    // Refused again, then a publish before the retry: the publish is the rebuild, and the retry finds nothing to do.
    await fw.publish(ep);
    w.state.refuse = true;
    await fw.unpublish('e');
    w.state.refuse = false;
    const ep2 = { ...ep, endpointId: 'e2', mappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' as const }] };
    await fw.publish(ep2);
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [n1], [ep2])));
    const after = w.batches.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(w.batches.length).toBe(after);
    await fw.close();
  });

  it('a port hold out of descriptors is thrown, not "in use", and its claim goes: the same port is free for the next reservation', async () => {
    const w = refusingIo();
    const fw = new Firewall(w.io);
    w.state.holdsFail = true;
    const spec = { hostPort: 9000, containerPort: 80, protocol: 'tcp' as const };
    await expect(fw.reserve('e1', [spec])).rejects.toMatchObject({ code: 'EMFILE' });
    await expect(fw.reserve('e2', [{ containerPort: 80, protocol: 'tcp' as const }])).rejects.toMatchObject({ code: 'EMFILE' });
    w.state.holdsFail = false;
    await expect(fw.reserve('e3', [spec])).resolves.toEqual([spec]);
  });

  it('restore goes on when a port cannot be held again (out of descriptors): the whole model is rebuilt', async () => {
    const w = refusingIo();
    const fw = new Firewall(w.io);
    w.state.holdsFail = true;
    await fw.restore([n1, n2], new Map([['e', ep.mappings]]), [ep]);
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [n1, n2], [ep])));
  });

  it('the undo of a network create (forget) drops the network from the model even when nft refuses, and rebuilds later', async () => {
    vi.useFakeTimers();
    const w = refusingIo();
    const fw = new Firewall(w.io);
    await fw.addNetwork(n1);
    await fw.addNetwork(n2);
    w.state.refuse = true;
    await expect(fw.removeNetwork('n2', true)).resolves.toBeUndefined();
    w.state.refuse = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(JSON.stringify(w.batches.at(-1))).toBe(JSON.stringify(firewallPlan.planRebuild('sandns', [n1], [])));
    await fw.close();
  });
});
