import { sortEndpoints } from './order.js';
import { addOwnRecords, ownRecords, removeOwnRecords, syncResolvConf, writeInitialHosts, } from './dns-files.js';
/** The runtime state of one sandbox. */
export class SandboxRuntime {
    id;
    files;
    #logger;
    #io;
    #endpoints = [];
    #networks = [];
    #linkAliases = new Map();
    #extServers = [];
    #upstreams = [];
    #ndotsSet = false;
    #ipv6 = true;
    #resolver;
    #resolverStarting;
    constructor(id, files, io, logger) {
        this.id = id;
        this.files = files;
        this.#io = io;
        this.#logger = logger;
    }
    // --- ResolverView (read per query) ---
    get networks() {
        return this.#networks;
    }
    get linkAliases() {
        return this.#linkAliases;
    }
    get ndotsSet() {
        return this.#ndotsSet;
    }
    get upstreams() {
        return this.#upstreams;
    }
    get externalAccess() {
        return this.#endpoints.some((e) => !e.internal);
    }
    /** Joined endpoints in R4 order. */
    get endpoints() {
        return this.#endpoints;
    }
    /** External servers from the last resolv.conf sync. */
    get extServers() {
        return this.#extServers;
    }
    /** The resolver's counters (R16), once the listener is serving. */
    get metrics() {
        return this.#resolver?.metrics;
    }
    /** True once the listener is serving. */
    get listening() {
        return this.#resolver !== undefined;
    }
    /** Write the initial files (H1, C2). */
    async init() {
        this.#ipv6 = await this.#io.ipv6Enabled();
        await writeInitialHosts(this.files, this.#ipv6);
        await this.refreshResolvConf();
    }
    /** Re-read the origin resolv.conf and overrides; rewrite the file unless user-modified (C2, C4, C5). */
    async refreshResolvConf() {
        const r = await syncResolvConf(this.files, this.#ipv6, this.#logger);
        this.#extServers = r.extServers;
        this.#ndotsSet = r.ndotsSet;
        this.#upstreams = r.extServers.map((s) => ({ address: s.address, port: 53, origin: s.origin }));
    }
    /** Attach an endpoint: view first (R15), then hosts lines, then the listener (R1). */
    async attach(ep) {
        this.#setEndpoints([...this.#endpoints.filter((e) => e.endpointId !== ep.endpointId), ep]);
        try {
            await addOwnRecords(this.files, this.#ownRecordsOf(ep));
            if (ep.resolution && !this.files.legacy)
                await this.#ensureResolver();
        }
        catch (err) {
            this.#setEndpoints(this.#endpoints.filter((e) => e.endpointId !== ep.endpointId));
            await removeOwnRecords(this.files, this.#ownRecordsOf(ep)).catch(() => undefined);
            throw err;
        }
    }
    /** Detach an endpoint: its names vanish from the view at once (R15), then its hosts lines (H3). */
    async detach(endpointId) {
        const ep = this.#endpoints.find((e) => e.endpointId === endpointId);
        if (ep === undefined)
            return;
        this.#setEndpoints(this.#endpoints.filter((e) => e.endpointId !== endpointId));
        await removeOwnRecords(this.files, this.#ownRecordsOf(ep));
    }
    /** Whether the hosts file carries IPv6 lines (decided once, at init; Docker H11). */
    get ipv6() {
        return this.#ipv6;
    }
    /** Restore (L3, Docker C14): take the saved external servers (and IPv6 decision); the files are not rewritten. */
    async adopt(saved) {
        this.#ipv6 = saved.ipv6 ?? (await this.#io.ipv6Enabled());
        this.#extServers = saved.extServers;
        this.#ndotsSet = saved.ndotsSet;
        this.#upstreams = saved.extServers.map((s) => ({ address: s.address, port: 53, origin: s.origin }));
    }
    /** Restore (L3): put a joined endpoint back in the view; files and listener untouched (see resume). */
    restoreEndpoint(ep) {
        this.#setEndpoints([...this.#endpoints.filter((e) => e.endpointId !== ep.endpointId), ep]);
    }
    /** Restore (L3): re-acquire the listener when an endpoint wants the resolver (R1). */
    async resume() {
        if (!this.files.legacy && this.#endpoints.some((e) => e.resolution))
            await this.#ensureResolver();
    }
    /** Stop the listener (sockets closed, so the namespace can go; gotcha 3). */
    async close() {
        await this.#resolverStarting?.catch(() => undefined);
        const r = this.#resolver;
        this.#resolver = undefined;
        await r?.close();
    }
    #ownRecordsOf(ep) {
        return ownRecords(this.files, ep.ipv4, ep.ipv6, this.#ipv6);
    }
    #setEndpoints(list) {
        const sorted = sortEndpoints(list);
        const aliases = new Map();
        for (const e of sorted) {
            for (const [alias, target] of e.linkAliases) {
                if (!aliases.has(alias))
                    aliases.set(alias, { target, network: e.networkName });
            }
        }
        // One synchronous swap: every resolver sees the new state at once (G11).
        this.#endpoints = sorted;
        this.#networks = sorted.map((e) => e.network);
        this.#linkAliases = aliases;
    }
    async #ensureResolver() {
        if (this.#resolver !== undefined)
            return;
        this.#resolverStarting ??= this.#io.startResolver(this).then((r) => {
            this.#resolver = r;
        });
        try {
            await this.#resolverStarting;
        }
        finally {
            this.#resolverStarting = undefined;
        }
    }
}
//# sourceMappingURL=sandbox.js.map