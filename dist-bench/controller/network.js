import { RecordTable } from '../resolver/index.js';
/** A network. */
export class Network {
    id;
    name;
    driver;
    internal;
    ttl;
    pool4;
    pool6;
    driverOptions;
    /** Shared by every sandbox on the network (spec Model). */
    records;
    /** The resolver's view of this network (one object, reused by every sandbox). */
    view;
    /** Endpoints by id. */
    endpoints = new Map();
    #core;
    constructor(core, init) {
        this.#core = core;
        this.id = init.id;
        this.name = init.name;
        this.driver = init.driver;
        this.internal = init.internal;
        this.ttl = init.ttl;
        this.pool4 = init.pool4;
        this.pool6 = init.pool6;
        this.driverOptions = init.driverOptions;
        this.records = new RecordTable(init.name);
        this.view = { name: init.name, records: this.records, ttl: init.ttl, internal: init.internal };
    }
    /** The driver's view of this network. */
    get driverNetwork() {
        return {
            id: this.id,
            name: this.name,
            subnet: this.pool4.subnet,
            gateway: this.pool4.gateway,
            subnet6: this.pool6?.subnet,
            gateway6: this.pool6?.gateway,
            internal: this.internal,
            options: this.driverOptions,
        };
    }
    /** Create an endpoint on this network (addresses allocated now, as libnetwork). */
    createEndpoint(name, options = {}) {
        return this.#core.createEndpoint(this, name, options);
    }
    /** Find an endpoint by name or id. */
    endpoint(ref) {
        return this.endpoints.get(ref) ?? [...this.endpoints.values()].find((e) => e.name === ref);
    }
    /** Delete the network; fails while endpoints exist (L1, 403). */
    delete() {
        return this.#core.deleteNetwork(this);
    }
    /** A JSON-friendly description. */
    info() {
        return {
            id: this.id,
            name: this.name,
            driver: this.driver,
            subnet: this.pool4.subnet,
            gateway: this.pool4.gateway,
            ...(this.pool6 ? { subnet6: this.pool6.subnet, gateway6: this.pool6.gateway } : {}),
            internal: this.internal,
            ttl: this.ttl,
            endpoints: [...this.endpoints.values()].map((e) => ({
                id: e.id,
                name: e.name,
                ipv4: e.ipv4,
                ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
                ...(e.sandbox ? { sandbox: e.sandbox.id } : {}),
            })),
        };
    }
}
//# sourceMappingURL=network.js.map