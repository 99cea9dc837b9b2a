/** A sandbox. */
export class Sandbox {
    config;
    opened;
    /** Joined endpoints by id. */
    endpoints = new Map();
    /** Interface names taken or being set up (eth0, eth1 ...). */
    ifnames = new Set();
    #core;
    constructor(core, config, opened) {
        this.#core = core;
        this.config = config;
        this.opened = opened;
    }
    /** The container id. */
    get id() {
        return this.config.id;
    }
    get hostname() {
        return this.config.hostname;
    }
    get netnsPath() {
        return this.opened.netnsPath;
    }
    get runtime() {
        return this.opened.runtime;
    }
    /** Lowest free eth<N>, reserved synchronously (G11). */
    reserveIfname() {
        for (let i = 0;; i++) {
            const n = `eth${i}`;
            if (!this.ifnames.has(n)) {
                this.ifnames.add(n);
                return n;
            }
        }
    }
    /** Leave every network and delete the sandbox (namespace too, unless an external key). */
    delete() {
        return this.#core.deleteSandbox(this);
    }
    /** A JSON-friendly description. */
    info() {
        const c = this.config;
        return {
            id: c.id,
            hostname: c.hostname,
            ...(c.domainname ? { domainname: c.domainname } : {}),
            netnsPath: this.netnsPath,
            externalKey: !this.opened.ownsNetns,
            hostsPath: c.hostsPath,
            resolvConfPath: c.resolvConfPath,
            listening: this.runtime.listening,
            dns: [...c.dns],
            dnsSearch: [...c.dnsSearch],
            dnsOptions: [...c.dnsOptions],
            extraHosts: [...c.extraHosts],
            extServers: this.runtime.extServers.map((s) => ({ address: s.address, origin: s.origin })),
            endpoints: this.runtime.endpoints.map((se) => {
                const e = this.endpoints.get(se.endpointId);
                return {
                    id: e.id,
                    name: e.name,
                    network: e.network.name,
                    ipv4: e.ipv4,
                    ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
                    ...(e.joinInfo ? { ifname: e.joinInfo.ifname } : {}),
                };
            }),
        };
    }
}
//# sourceMappingURL=sandbox.js.map