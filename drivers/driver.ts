/**
 * The Driver contract (STYLE G2: drivers/ declares it, bridge/ implements it),
 * after libnetwork's driverapi: the controller owns the model and IPAM; a
 * driver turns it into kernel objects.
 */
import type { LinkCounters } from './bridge/stats.js';
import type { PortMapping, PublishSpec } from './firewall/types.js';


/** What a driver needs to create a network. */
export interface DriverNetwork {
  /** Network id (stable, unique). */
  readonly id: string;
  /** Network name. */
  readonly name: string;
  /** IPv4 subnet (CIDR) and gateway. */
  readonly subnet: string;
  readonly gateway: string;
  /** Optional IPv6 subnet (CIDR) and gateway. */
  readonly subnet6?: string | undefined;
  readonly gateway6?: string | undefined;
  /** No external access: no default route for endpoints. */
  readonly internal: boolean;
  /** Driver-specific options (bridge name, mtu ...), validated by the driver. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** What a driver needs to attach an endpoint to a sandbox. */
export interface DriverJoin {
  readonly network: DriverNetwork;
  /** Endpoint id. */
  readonly endpointId: string;
  /** IPv4 address (no prefix) and optional IPv6 address. */
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  /** MAC address to set on the interface, if any. */
  readonly mac?: string | undefined;
  /** Path of the sandbox's network namespace. */
  readonly netnsPath: string;
  /** Interface name inside the sandbox (eth0, eth1 ...). */
  readonly ifname: string;
  /** Set the sandbox's default route(s) through this endpoint's gateway. */
  readonly defaultRoute: boolean;
  /** Host ports reserved for this endpoint (reservePorts), published on join (libnetwork's ProgramExternalConnectivity). */
  readonly portMappings?: readonly PortMapping[] | undefined;
}

/** What a join left behind, to be handed back to leave(). */
export interface DriverJoinInfo {
  /** Host-side interface name. */
  readonly hostIfname: string;
  /** Interface name inside the sandbox. */
  readonly ifname: string;
  /** MAC address of the sandbox-side interface. */
  readonly mac: string;
  /** The endpoint (absent in states saved before published ports existed). */
  readonly endpointId?: string;
}

/** An endpoint as restore hands it to the driver (L3). */
export interface DriverRestoredEndpoint {
  readonly network: DriverNetwork;
  readonly endpointId: string;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  /** Host ports the endpoint held. */
  readonly portMappings: readonly PortMapping[];
  /** Joined: its ports are published. */
  readonly joined: boolean;
}

/** An endpoint of a network on another host, as the cluster store publishes it (overlay forwarding entries). */
export interface DriverPeer {
  /** MAC of its interface. */
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  /** The underlay address of its host (its VTEP: `--cluster-advertise`). */
  readonly vtep: string;
}

/** A network driver. */
export interface Driver {
  /** Driver name, e.g. 'bridge'. */
  readonly name: string;
  /**
   * libnetwork's Capability.DataScope: a 'global' driver's networks live in the cluster store and span hosts
   * (overlay); default 'local'.
   */
  readonly dataScope?: 'local' | 'global';
  /**
   * Global drivers: the network's endpoints on other hosts, as the cluster store has them now (the whole set, not a
   * change). The driver makes its entries equal to it, now if the network's objects exist on this host, else when
   * they are made; never throws (failures are logged and retried).
   */
  setPeers?(network: DriverNetwork, peers: readonly DriverPeer[]): void;
  /**
   * Restore (L3), global drivers: remove this driver's kernel objects of networks not in `keep` (a crash between the
   * last local leave and their removal). Returns the links removed.
   */
  sweepNetworks?(keep: readonly DriverNetwork[]): Promise<string[]>;
  /** Check driver options before anything is created; returns the normalised options. */
  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>>;
  /**
   * Refuse (ERR_LINK_EXISTS, 409) a network whose kernel objects' names are
   * taken already; run before anything is recorded or made (L4).
   */
  checkNetworkFree(network: DriverNetwork): Promise<void>;
  /**
   * Create the network's kernel objects, marked as this network's. On failure
   * only what this call created is removed; an object that existed is never
   * touched (ERR_LINK_EXISTS).
   */
  createNetwork(network: DriverNetwork): Promise<void>;
  /**
   * Restore (L3): undo a create that a crash cut short: remove the network's
   * objects only when they carry this network's mark. True when removed.
   */
  discardNetwork(network: DriverNetwork): Promise<boolean>;
  /** Delete them. Idempotent. */
  deleteNetwork(network: DriverNetwork): Promise<void>;
  /**
   * Plumb an endpoint into a sandbox. An interface name that is taken already is refused (ERR_LINK_EXISTS, 409)
   * before anything is made, and the existing interface is never touched (L4).
   */
  join(join: DriverJoin): Promise<DriverJoinInfo>;
  /**
   * Undo join. Idempotent. Resolves once the endpoint's links are gone from both namespaces; the kernel may still be
   * freeing them (the bridge driver's deletion request returns later), and close() waits for that.
   */
  leave(network: DriverNetwork, info: DriverJoinInfo, netnsPath: string): Promise<void>;
  /** Make `info`'s interface carry the sandbox's default route (after the previous gateway left). */
  setDefaultRoute(network: DriverNetwork, info: DriverJoinInfo, netnsPath: string): Promise<void>;
  /**
   * True when the network's kernel objects exist and carry its mark (restore checks: they are adopted as they are);
   * false when none exists (restore makes them again). Throws ERR_LINK_EXISTS (409) when a link has the network's
   * name but not its mark: someone else's (made while the daemon was down, after a reboot say), never adopted.
   */
  networkExists(network: DriverNetwork): Promise<boolean>;
  /** Restore (L3): whether each join still has its kernel objects (host veth), one answer per info, in one query. */
  endpointsPresent(network: DriverNetwork, infos: readonly DriverJoinInfo[]): Promise<boolean[]>;
  /** Restore (L3): remove whatever an unfinished join of this endpoint left (no join info yet). Idempotent. */
  releaseEndpoint(network: DriverNetwork, endpointId: string): Promise<void>;
  /**
   * Restore (L3): make the network's endpoint objects match `keep`: delete those of no join in `keep` (leaked by a
   * crash) and re-attach kept ones that lost their network (a bridge made again). Returns what it changed.
   */
  reconcileEndpoints(network: DriverNetwork, keep: readonly DriverJoinInfo[]): Promise<{ removed: string[]; reattached: string[] }>;
  /**
   * Optional: call `onGone(hostIfname)` when a join's host-side link vanishes
   * behind the controller's back (its pair deleted, its namespace destroyed),
   * from kernel link events: no polling. `onError`: events may have been lost.
   */
  watchEndpoints?(onGone: (hostIfname: string) => void, onError: (err: Error) => void): { close(): void };
  /**
   * Reserve host ports for an endpoint's published ports before anything changes (createEndpoint); throws
   * ERR_PORT_ALLOCATED (409) when one is taken. Drivers without published ports leave it out.
   */
  reservePorts?(network: DriverNetwork, endpointId: string, specs: readonly PublishSpec[]): Promise<PortMapping[]>;
  /** Give back an endpoint's host ports (deleteEndpoint). Idempotent. */
  releasePorts?(endpointId: string): Promise<void>;
  /** Counters of joined interfaces, seen from inside the sandbox, one per info (undefined when gone). */
  interfaceStats?(infos: readonly DriverJoinInfo[]): Promise<(LinkCounters | undefined)[]>;
  /** Restore (L3), once after every network and endpoint is back: firewall state rebuilt in one go. */
  restoreExternalConnectivity?(networks: readonly DriverNetwork[], endpoints: readonly DriverRestoredEndpoint[]): Promise<void>;
  /** What inspect shows of a network (bridge: its name and MTU). */
  describeNetwork?(network: DriverNetwork): Readonly<Record<string, unknown>>;
  /** Daemon shutdown: let go of held resources (sockets); kernel state stays. */
  close?(): Promise<void>;
  /**
   * What is wrong with a joined endpoint's links (CNI CHECK): each problem a sentence naming the link; empty when
   * none. `addresses` are the endpoint's addresses the sandbox interface must carry.
   */
  linkProblems(network: DriverNetwork, info: DriverJoinInfo, netnsPath: string, addresses: readonly string[]): Promise<string[]>;
}
