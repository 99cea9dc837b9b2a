/** A network endpoint. */
export class Endpoint {
    id;
    name;
    network;
    aliases;
    ipv4;
    ipv6;
    ports;
    links;
    disableResolution;
    /** The sandbox it is joined to, if any. */
    sandbox;
    /** What the driver did on join (for leave). */
    joinInfo;
    /** Join priority (R4). */
    priority = 0;
    /** The join in progress, if any: leave waits for it (no half-joined state is ever torn down). */
    joining;
    /** True while this endpoint carries the sandbox's default route. */
    gateway = false;
    #core;
    constructor(core, init) {
        this.#core = core;
        this.id = init.id;
        this.name = init.name;
        this.network = init.network;
        this.aliases = init.aliases;
        this.ipv4 = init.ipv4;
        this.ipv6 = init.ipv6;
        this.ports = init.ports;
        this.links = init.links;
        this.disableResolution = init.disableResolution;
    }
    /** DNS names in order: endpoint (container) name, aliases, short id, hostname; de-duplicated (spec Model). */
    dnsNames(sandbox) {
        const names = [this.name, ...this.aliases];
        if (/^[0-9a-f]{12,}$/.test(sandbox.id))
            names.push(sandbox.id.slice(0, 12));
        names.push(sandbox.hostname);
        const seen = new Set();
        return names.filter((n) => {
            const k = n.toLowerCase();
            if (seen.has(k))
                return false;
            seen.add(k);
            return true;
        });
    }
    /** Join a sandbox (L1). */
    join(sandbox, options = {}) {
        return this.#core.join(this, sandbox, options);
    }
    /** Leave the sandbox (L1). */
    leave(sandbox) {
        return this.#core.leave(this, sandbox);
    }
    /** Delete the endpoint, releasing its addresses; fails while joined (403). */
    delete() {
        return this.#core.deleteEndpoint(this);
    }
}
//# sourceMappingURL=endpoint.js.map