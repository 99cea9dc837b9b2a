/**
 * Network entity (L1): a named connectivity zone with its address pools and
 * the record table its sandboxes resolve from.
 */
import type { AddressPool, DriverNetwork, PortMapping } from '../drivers/index.js';
import { RecordTable, type NetworkView } from '../resolver/index.js';
import { provisionalOf, type Endpoint } from './endpoint.js';
import { metaOf, type EndpointOptions, type JoinOptions } from './options.js';
import type { Sandbox } from './sandbox.js';
import { AlreadyOnNetworkError } from './errors.js';
import type { ControllerCore } from './core.js';

/** Public description of a network (inspect / list). */
export interface NetworkInfo {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  subnet6?: string;
  gateway6?: string;
  internal: boolean;
  /** 'local' (this host) or 'global' (the cluster store, docs/cluster.md M1). */
  scope: 'local' | 'global';
  ttl: number;
  dns?: string[];
  /** The range dynamic IPv4 addresses come from (--ip-range). */
  ipRange?: string;
  /** Normalised driver options. */
  driverOptions: Record<string, unknown>;
  /** User labels (Docker's), when any. */
  labels?: Record<string, string>;
  /** When the network was made (ISO 8601, UTC; Docker's Created); absent for networks recorded before it was kept. */
  created?: string;
  /** What the driver shows (bridge: `bridge` name and `mtu`). */
  [driverField: string]: unknown;
  endpoints: EndpointSummary[];
}

/** One endpoint as network inspect shows it: addresses, MAC, host-side veth, published ports. */
export interface EndpointSummary {
  id: string;
  name: string;
  ipv4: string;
  ipv6?: string;
  sandbox?: string;
  macAddress?: string;
  hostIfname?: string;
  ifname?: string;
  ports: PortMapping[];
  exposed: { port: number; protocol: 'tcp' | 'udp' }[];
  /** Network-scoped aliases (DNS names after the endpoint's name). */
  aliases: string[];
  /** Link aliases this endpoint declares for its sandbox (alias → target), when any. */
  links?: Record<string, string>;
  /** Join priority (R4 order), while attached to a sandbox. */
  priority?: number;
  /** True when this endpoint carries its sandbox's default route. */
  gateway?: boolean;
  /** Present (true) when the endpoint refuses the embedded resolver. */
  disableResolution?: true;
}

/** An endpoint's summary (network and sandbox inspect). */
export function summarizeEndpoint(e: Endpoint): EndpointSummary {
  const mac = e.joinInfo?.mac ?? e.macAddress;
  const a = e.attachment;
  return {
    id: e.id, name: e.name, ipv4: e.ipv4, ...(e.ipv6 ? { ipv6: e.ipv6 } : {}), ...(e.sandbox ? { sandbox: e.sandbox.id } : {}),
    ...(mac ? { macAddress: mac } : {}), ...(e.joinInfo ? { hostIfname: e.joinInfo.hostIfname, ifname: e.joinInfo.ifname } : {}),
    ports: e.portMappings.map((m) => ({ ...m })), exposed: e.ports.map((p) => ({ port: p.port, protocol: p.proto })),
    aliases: [...e.aliases], ...(e.links.size > 0 ? { links: Object.fromEntries(e.links) } : {}),
    ...(a === undefined ? {} : { priority: a.priority, gateway: a.gateway }), ...(e.disableResolution ? { disableResolution: true as const } : {}),
  };
}

/** A network. */
export class Network {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly internal: boolean;
  /** 'global' networks live in the cluster store (docs/cluster.md M1). */
  readonly scope: 'local' | 'global';
  /**
   * Whether the driver's objects exist on this host: always for local networks;
   * for global ones only while this host has endpoints on it (docs/cluster.md M1).
   */
  driverReady: boolean;
  readonly ttl: number;
  /** DNS servers for sandboxes on this network that give none of their own (queried from inside the sandbox). */
  readonly dns: readonly string[];
  readonly pool4: AddressPool;
  readonly pool6: AddressPool | undefined;
  readonly driverOptions: Readonly<Record<string, unknown>>;
  /** User labels (checkLabels), sorted by key; sandns never reads them. */
  readonly labels: Readonly<Record<string, string>>;
  /** When it was made (ISO 8601, UTC), or undefined for a network recorded before this was kept. */
  readonly created: string | undefined;
  /** Shared by every sandbox on the network (spec Model). */
  readonly records: RecordTable;
  /** The resolver's view of this network (one object, reused by every sandbox). */
  readonly view: NetworkView;
  /** Endpoints by id. */
  readonly endpoints = new Map<string, Endpoint>();
  /** What its create had to say to the caller (a subnet with host bits, one over a host route); never persisted. */
  createWarnings: readonly string[] = [];
  readonly #core: ControllerCore;

  constructor(
    core: ControllerCore,
    init: { id: string; name: string; driver: string; internal: boolean; scope?: 'local' | 'global'; driverReady?: boolean; ttl: number; dns?: readonly string[]; pool4: AddressPool; pool6?: AddressPool | undefined; driverOptions: Readonly<Record<string, unknown>>; labels?: Readonly<Record<string, string>> | undefined; created?: string | undefined },
  ) {
    this.#core = core;
    this.id = init.id;
    this.name = init.name;
    this.driver = init.driver;
    this.internal = init.internal;
    this.scope = init.scope ?? 'local';
    this.driverReady = init.driverReady ?? this.scope === 'local';
    this.ttl = init.ttl;
    this.dns = init.dns ?? [];
    this.pool4 = init.pool4;
    this.pool6 = init.pool6;
    this.driverOptions = init.driverOptions;
    this.labels = init.labels ?? {};
    this.created = init.created;
    this.records = new RecordTable(init.name);
    this.view = { name: init.name, records: this.records, ttl: init.ttl, internal: init.internal };
  }

  /** The driver's view of this network. */
  get driverNetwork(): DriverNetwork {
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

  /**
   * Create an endpoint on this network (L1, L2): `name` and `options.aliases`
   * are host names (RFC 1123); addresses are allocated now, as libnetwork
   * does (`options.ip` / `options.ip6` request specific ones); `ports` are
   * {port 1-65535, proto tcp|udp} for SRV (R7). Throws ERR_INVALID_OPTION /
   * ERR_INVALID_NAME, ERR_ENDPOINT_EXISTS, ERR_NETWORK_NOT_FOUND (deleted
   * meanwhile), ERR_IPAM_POOL_EXHAUSTED, ERR_IPAM_ADDRESS_IN_USE,
   * ERR_IPAM_ADDRESS_OUT_OF_RANGE, ERR_CONTROLLER_CLOSED.
   */
  createEndpoint(name: string, options: EndpointOptions = {}): Promise<Endpoint> {
    return this.#core.createEndpoint(this, name, options);
  }

  /**
   * The API's connect (libnetwork's CreateEndpoint + Join as one answer): an endpoint named `name` that exists only
   * while joined (`joinedOnly`), joined to `sb`, and deleted again when the join fails (G10). Until it answers, the
   * endpoint is provisional (Endpoint.provisional): a second connect of `sb` to this network, an endpoint of the same
   * name and the network's delete wait for its outcome instead of failing on it (L5). Throws
   * ERR_SANDBOX_ALREADY_ON_NETWORK (409) when `sb` is already on this network, and what createEndpoint and join throw.
   */
  async connect(sb: Sandbox, name: string, options: EndpointOptions = {}, joinOptions: JoinOptions = {}): Promise<Endpoint> {
    const mine = (): Endpoint[] => [...sb.endpoints.values()].filter((e) => e.network === this);
    for (let w = provisionalOf(mine()); w; w = provisionalOf(mine())) await w;
    if (mine().length > 0) throw new AlreadyOnNetworkError(sb.id, this.name);
    let settle = (): void => undefined;
    const provisional = new Promise<void>((resolve) => (settle = resolve));
    const ep = await this.#core.createEndpoint(this, name, { ...options, joinedOnly: true, provisional });
    try {
      await ep.join(sb, joinOptions);
      return ep;
    } catch (err) {
      await ep.delete().catch((e: unknown) => this.#core.logger.warn({ err: e, endpoint: ep.name }, 'endpoint delete after a failed join failed'));
      throw err;
    } finally {
      ep.provisional = undefined;
      settle();
    }
  }

  /** Find an endpoint by name or id. */
  endpoint(ref: string): Endpoint | undefined {
    return this.endpoints.get(ref) ?? [...this.endpoints.values()].find((e) => e.name === ref);
  }

  /**
   * Delete the network and its bridge (L1, L2). Throws
   * ERR_NETWORK_ACTIVE_ENDPOINTS (403) while endpoints exist; deleting a
   * network that is already gone does nothing.
   */
  delete(): Promise<void> {
    return this.#core.deleteNetwork(this);
  }

  /** A JSON-friendly description. */
  info(): NetworkInfo {
    return {
      id: this.id,
      name: this.name,
      driver: this.driver,
      subnet: this.pool4.subnet,
      gateway: this.pool4.gateway,
      ...(this.pool6 ? { subnet6: this.pool6.subnet, gateway6: this.pool6.gateway } : {}),
      internal: this.internal,
      scope: this.scope,
      ttl: this.ttl,
      ...(this.dns.length > 0 ? { dns: [...this.dns] } : {}),
      ...(this.pool4.ipRange !== undefined ? { ipRange: this.pool4.ipRange } : {}),
      driverOptions: { ...this.driverOptions },
      ...metaOf(this),
      ...this.#core.describeNetwork(this),
      endpoints: [...this.endpoints.values()].map(summarizeEndpoint),
    };
  }
}
