import { bridgeNameFor, hostVethName, normalizeBridgeOptions } from './options.js';
import { planCreateNetwork, planDefaultRoute, planDeleteNetwork, planJoinHost, planJoinSandbox } from './plan.js';
import { applyHost, applySandbox, deleteLinkIfExists, hostLinks, linkExists, sandboxLinkMac } from './io/links.js';
export { normalizeBridgeOptions, bridgeNameFor, hostVethName } from './options.js';
export * as bridgePlan from './plan.js';
function opts(net) {
    return net.options;
}
/** The bridge driver. */
export class BridgeDriver {
    name = 'bridge';
    validateOptions(raw) {
        return normalizeBridgeOptions(raw);
    }
    async createNetwork(net) {
        try {
            await applyHost(planCreateNetwork(net, opts(net)));
        }
        catch (err) {
            await deleteLinkIfExists(bridgeNameFor(net.id, opts(net)));
            throw err;
        }
    }
    async deleteNetwork(net) {
        const br = bridgeNameFor(net.id, opts(net));
        if (await linkExists(br))
            await applyHost(planDeleteNetwork(net, opts(net)));
    }
    async join(join) {
        const o = opts(join.network);
        const hostIfname = hostVethName(join.endpointId);
        try {
            await applyHost(planJoinHost(join, o));
            await applySandbox(join.netnsPath, planJoinSandbox(join));
            const mac = await sandboxLinkMac(join.netnsPath, join.ifname);
            return { hostIfname, ifname: join.ifname, mac };
        }
        catch (err) {
            // Deleting the host end deletes the pair, wherever the peer is (G10).
            await deleteLinkIfExists(hostIfname);
            throw err;
        }
    }
    async leave(_net, info) {
        await deleteLinkIfExists(info.hostIfname);
    }
    async setDefaultRoute(net, info, netnsPath) {
        await applySandbox(netnsPath, planDefaultRoute(net, info.ifname));
    }
    async networkExists(net) {
        return linkExists(bridgeNameFor(net.id, opts(net)));
    }
    async endpointsPresent(_net, infos) {
        if (infos.length === 0)
            return [];
        const names = new Set((await hostLinks()).map((l) => l.ifname));
        return infos.map((i) => names.has(i.hostIfname));
    }
    async releaseEndpoint(_net, endpointId) {
        // The pair dies with its host end, wherever the peer went (G10).
        await deleteLinkIfExists(hostVethName(endpointId));
    }
    async reconcileEndpoints(net, keep) {
        const br = bridgeNameFor(net.id, opts(net));
        const kept = new Set(keep.map((i) => i.hostIfname));
        const links = await hostLinks();
        // Only veths of our naming on this network's own bridge are swept: provably ours, whoever else uses sv* names.
        const removed = links.filter((l) => l.master === br && l.ifname.startsWith('sv') && !kept.has(l.ifname)).map((l) => l.ifname);
        const reattached = links.filter((l) => kept.has(l.ifname) && l.master !== br).map((l) => l.ifname);
        for (const name of removed)
            await deleteLinkIfExists(name);
        await applyHost(reattached.map((name) => `link set ${name} master ${br} up`));
        return { removed, reattached };
    }
}
//# sourceMappingURL=index.js.map