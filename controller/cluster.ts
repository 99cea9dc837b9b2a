/**
 * Global networks (docs/cluster.md M1–M7): the controller's side of the
 * cluster store. Creates and deletes global networks through it, allocates
 * their addresses by compare-and-set, publishes local endpoints' records, and
 * applies the mirror's changes (remote records, networks, claims) to the model
 * in one synchronous step each (G11), so every resolver sees them at once.
 */
import type { Logger } from '../common/log.js';
import { AddressInUseError, allocateVni, PoolExhaustedError, type AddressPool, type DriverPeer, type DriverRegistry } from '../drivers/index.js';
import { AddressPool as Pool } from '../drivers/index.js';
import type { ClusterListener, ClusterStore, LostClaim, MirrorChange, NetworkSpec, RemoteRecord } from '../store/index.js';
import type { ControllerCore } from './core.js';
import type { Endpoint } from './endpoint.js';
import { EndpointExistsError, NetworkActiveEndpointsError, NetworkExistsError } from './errors.js';
import { assertNoOverlap } from './plan.js';
import { Network } from './network.js';
import { metaOf, savedMeta } from './options.js';
import type { Sandbox } from './sandbox.js';

/** What the binding needs from the controller. */
export interface ClusterDeps {
  readonly store: ClusterStore;
  readonly logger: Logger;
  readonly core: ControllerCore;
  readonly drivers: DriverRegistry;
  networks(): Network[];
  addNetwork(net: Network): void;
  removeNetwork(net: Network): void;
  /** Leave and delete a local endpoint whose address another host holds now (M7). */
  disconnect(ep: Endpoint, reason: string): Promise<void>;
}

const remoteId = (r: RemoteRecord): string => `r:${r.id}`;
const CLAIM_TRIES = 64;

/** The spec of a network as the store keeps it. */
export function specOf(net: Network): NetworkSpec {
  const d = net.driverNetwork;
  return {
    id: net.id, name: net.name, driver: net.driver, subnet: d.subnet, gateway: d.gateway,
    ...(d.subnet6 !== undefined ? { subnet6: d.subnet6, gateway6: d.gateway6 } : {}),
    internal: net.internal, ttl: net.ttl, dns: [...net.dns], options: { ...net.driverOptions }, ...(net.pool4.ipRange === undefined ? {} : { ipRange: net.pool4.ipRange }),
    ...(typeof net.driverOptions.vni === 'number' ? { vni: net.driverOptions.vni } : {}), ...metaOf(net),
  };
}

/** The same network with other driver options (the VXLAN id allocated in the create transaction). */
function withDriverOptions(net: Network, core: ControllerCore, driverOptions: Readonly<Record<string, unknown>>): Network {
  return new Network(core, {
    id: net.id, name: net.name, driver: net.driver, internal: net.internal, ttl: net.ttl, dns: net.dns, scope: net.scope, driverReady: net.driverReady,
    pool4: net.pool4, pool6: net.pool6, driverOptions, labels: net.labels, created: net.created,
  });
}

/** The controller's binding to the cluster store. */
export class ClusterBinding implements ClusterListener {
  readonly store: ClusterStore;
  readonly #d: ClusterDeps;
  readonly #log: Logger;
  /** Endpoint names being allocated (an await between the name check and the add, G11). */
  readonly #pending = new Set<string>();
  /** network id → the tail of its driver steps. */
  readonly #driverQueue = new Map<string, Promise<void>>();
  /** Whether the store's first listing has arrived (entries are reconciled only against a loaded mirror). */
  #listed = false;

  constructor(deps: ClusterDeps) {
    this.#d = deps;
    this.store = deps.store;
    this.#log = deps.logger.child({ component: 'cluster' });
  }

  /**
   * Put a planned global network into the store, the overlap check inside the same transaction (M3); a network of a
   * global driver (overlay) gets its VXLAN id there too, unique in the cluster (docs/overlay.md O1). Returns the
   * network as stored.
   */
  async createNetwork(net: Network): Promise<Network> {
    this.store.assertAvailable('create a global network');
    const vxlan = this.#d.drivers.get(net.driver).dataScope === 'global';
    const spec = await this.store.createNetwork((existing) => {
      if (existing.some((n) => n.name === net.name)) throw new NetworkExistsError(net.name);
      for (const other of existing) assertNoOverlap([[net.pool4.subnet, other.subnet], [net.pool6?.subnet, other.subnet6]], `global network ${other.name}`);
      if (!vxlan) return specOf(net);
      const used = existing.flatMap((n) => (n.vni === undefined ? [] : [{ vni: n.vni, network: n.name }]));
      const asked = typeof net.driverOptions.vni === 'number' ? net.driverOptions.vni : undefined;
      const vni = allocateVni(used, asked);
      return { ...specOf(net), vni, options: { ...net.driverOptions, vni } };
    });
    return vxlan ? withDriverOptions(net, this.#d.core, spec.options) : net;
  }

  /**
   * Delete a global network: refused while any host has endpoints on it, joined or only claimed (the store's
   * transaction checks what etcd holds, not only this host's mirror).
   */
  async deleteNetwork(net: Network): Promise<void> {
    this.store.assertAvailable('delete a global network');
    const remote = this.store.recordsOf(net.name).filter((r) => r.member !== this.store.member).length;
    if (remote > 0) throw new NetworkActiveEndpointsError(net.name, remote);
    const { inUse } = await this.store.deleteNetwork(net.name);
    if (inUse > 0) throw new NetworkActiveEndpointsError(net.name, inUse);
  }

  /** Allocate an endpoint's addresses by compare-and-set (M4); never the same address as any other host. */
  async allocate(net: Network, endpoint: string, want4: string | undefined, want6: string | undefined): Promise<{ ipv4: string; ipv6: string | undefined }> {
    this.store.assertAvailable('connect to a global network');
    const ipv4 = await this.#claim(net.name, net.pool4, endpoint, want4);
    try {
      const ipv6 = net.pool6 === undefined ? undefined : await this.#claim(net.name, net.pool6, endpoint, want6);
      return { ipv4, ipv6 };
    } catch (err) {
      net.pool4.release(ipv4);
      await this.store.releaseAddress(net.name, ipv4);
      throw err;
    }
  }

  async #claim(network: string, pool: AddressPool, endpoint: string, want: string | undefined): Promise<string> {
    for (let i = 0; i < CLAIM_TRIES; i++) {
      if (want === undefined) pool.scatter();
      const ip = pool.allocate(want); // marks it locally at once (G11)
      let ok: boolean;
      try {
        ok = await this.store.claimAddress(network, ip, endpoint);
      } catch (err) {
        pool.release(ip);
        throw err;
      }
      if (ok) return ip;
      // Another host holds it: it stays marked here (the watch confirms it), try another.
      if (want !== undefined) throw new AddressInUseError(want, pool.subnet);
    }
    throw new PoolExhaustedError(pool.subnet);
  }

  /** A new endpoint's addresses by compare-and-set (M4), and the driver's objects on the first local endpoint. */
  async endpointAddresses(net: Network, epName: string, id: string, ip4: string | undefined, ip6: string | undefined): Promise<{ ipv4: string; ipv6: string | undefined }> {
    const pending = `${net.id}/${epName}`;
    if (net.endpoint(epName) !== undefined || this.#pending.has(pending)) throw new EndpointExistsError(epName, net.name);
    this.#pending.add(pending);
    try {
      const got = await this.allocate(net, id, ip4, ip6);
      try {
        await this.ensureDriver(net);
      } catch (err) {
        net.pool4.release(got.ipv4);
        if (got.ipv6 !== undefined) net.pool6?.release(got.ipv6);
        await this.store.releaseAddress(net.name, got.ipv4);
        if (got.ipv6 !== undefined) await this.store.releaseAddress(net.name, got.ipv6);
        throw err;
      }
      return got;
    } finally {
      this.#pending.delete(pending);
    }
  }

  /** Publish a joined endpoint (M5); when etcd refuses, `undoJoin` runs and the join fails with 503. */
  async publishJoined(ep: Endpoint, sb: Sandbox, undoJoin: () => Promise<void>): Promise<void> {
    if (ep.network.scope !== 'global') return;
    try {
      await this.publish(ep, sb);
    } catch (err) {
      await undoJoin().catch((e: unknown) => this.#log.warn({ err: e, endpoint: ep.name }, 'leave after a failed publish failed'));
      throw err;
    }
  }

  /** Release an endpoint's addresses in the store (best effort while unreachable: reconciled later). */
  release(ep: Endpoint): Promise<void> {
    return this.releaseAddresses(ep.network, ep);
  }

  /** Release addresses claimed on `net` in the store (an endpoint's, or a create's that did not finish). */
  async releaseAddresses(net: Network, got: { readonly ipv4: string; readonly ipv6?: string | undefined }): Promise<void> {
    await this.store.releaseAddress(net.name, got.ipv4);
    if (got.ipv6 !== undefined) await this.store.releaseAddress(net.name, got.ipv6);
  }

  /** Run driver steps of one network one at a time (concurrent first connects make its objects once). */
  #serial(net: Network, fn: () => Promise<void>): Promise<void> {
    const run = (this.#driverQueue.get(net.id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.#driverQueue.set(net.id, tail);
    void tail.then(() => {
      if (this.#driverQueue.get(net.id) === tail) this.#driverQueue.delete(net.id);
    });
    return run;
  }

  /**
   * Make the driver's objects for a global network on this host, on its first local endpoint. Throws
   * ERR_NETWORK_SUBNET_OVERLAP (409) when a network of this host only (the cluster's overlap check, M3, never saw
   * it) has an overlapping subnet: two bridges with one subnet would split its traffic.
   */
  ensureDriver(net: Network): Promise<void> {
    return this.#serial(net, async () => {
      if (net.driverReady) return;
      for (const o of this.#d.networks().filter((n) => n.scope !== 'global')) assertNoOverlap([[net.pool4.subnet, o.pool4.subnet], [net.pool6?.subnet, o.pool6?.subnet]], `network ${o.name} of this host`);
      this.#syncPeers(net); // the entries wanted, programmed as soon as the devices exist
      await this.#d.drivers.get(net.driver).createNetwork(net.driverNetwork);
      net.driverReady = true;
    });
  }

  /** Remove them after the last local endpoint left (nothing stays on hosts without endpoints). */
  dropDriverIfUnused(net: Network): Promise<void> {
    return this.#serial(net, async () => {
      if (net.endpoints.size > 0 || this.#pendingOn(net)) return;
      if (net.driverReady) {
        net.driverReady = false;
        await this.#d.drivers.get(net.driver).deleteNetwork(net.driverNetwork).catch((err: unknown) => {
          this.#log.warn({ err, network: net.name }, 'driver network delete failed');
        });
      }
      // Deleted in the cluster meanwhile (its last endpoints were only claimed, or lost with it): gone here too.
      if (!this.store.networks().some((s) => s.id === net.id)) this.#d.removeNetwork(net);
    });
  }

  #pendingOn(net: Network): boolean {
    return [...this.#pending].some((p) => p.startsWith(`${net.id}/`));
  }

  /** Publish a joined endpoint's record under this host's lease (M5). */
  publish(ep: Endpoint, sb: Sandbox, adoptOnly = false): Promise<void> {
    return this.store.publish(ep.network.name, {
      id: ep.id, names: ep.dnsNames(sb), ipv4: ep.ipv4, ...(ep.ipv6 ? { ipv6: ep.ipv6 } : {}),
      ports: ep.ports.map((p) => ({ ...p })), ...(ep.joinInfo ? { mac: ep.joinInfo.mac } : {}),
    }, { adoptOnly });
  }

  /** Withdraw it (names vanish on every host at the next watch event). */
  unpublish(ep: Endpoint): Promise<void> {
    return this.store.unpublish(ep.network.name, ep.id);
  }

  /**
   * After a restore: own the restored endpoints' claims and records again (written at connect, M5), and remove
   * overlay devices of networks this host no longer has endpoints on (a crash between the last leave and their
   * removal; docs/overlay.md O5). Overlay entries are reconciled at the store's first listing.
   */
  async adoptRestored(): Promise<void> {
    const globals = this.#d.networks().filter((n) => n.scope === 'global');
    for (const net of globals) {
      for (const ep of net.endpoints.values()) {
        this.store.adoptAddress(net.name, ep.ipv4, ep.id);
        if (ep.ipv6 !== undefined) this.store.adoptAddress(net.name, ep.ipv6, ep.id);
        if (ep.sandbox !== undefined && ep.joinInfo !== undefined) void this.publish(ep, ep.sandbox, true);
      }
      // Entries are not synced yet: the mirror is empty until the store's first listing, and syncing to it now
      // would cut the data path for the length of a restart (the first batch of changes syncs every network).
    }
    // A network none of whose endpoints came back (a reboot took their namespaces): restore made its devices again
    // with the network, but nothing stays on a host without endpoints (O2). The network stays in the model, as the
    // store's listing would give it (and a delete on another host then removes it here).
    for (const net of globals) {
      if (!net.driverReady || net.endpoints.size > 0) continue;
      await this.#serial(net, async () => {
        if (!net.driverReady || net.endpoints.size > 0 || this.#pendingOn(net)) return;
        net.driverReady = false;
        await this.#d.drivers.get(net.driver).deleteNetwork(net.driverNetwork).catch((err: unknown) => this.#log.warn({ err, network: net.name }, 'driver network delete failed'));
      });
    }
    for (const driver of this.#d.drivers.all()) {
      if (driver.sweepNetworks === undefined) continue;
      const keep = globals.filter((n) => n.driver === driver.name && n.driverReady).map((n) => n.driverNetwork);
      try {
        const removed = await driver.sweepNetworks(keep);
        if (removed.length > 0) this.#log.warn({ driver: driver.name, links: removed }, 'leaked devices of global networks removed');
      } catch (err) {
        this.#log.warn({ err, driver: driver.name }, 'sweep of global network devices failed');
      }
    }
  }

  /**
   * Give the network's driver its endpoints on other hosts (global drivers: overlay entries, docs/overlay.md O3):
   * every record of another member with a MAC, at the VTEP (advertise address) of its member. A member whose key
   * vanished (its lease expired) has no VTEP: its endpoints are dropped with it.
   */
  #syncPeers(net: Network): void {
    const driver = this.#d.drivers.get(net.driver);
    if (driver.setPeers === undefined) return;
    const vteps = new Map(this.store.members().map((m) => [m.id, m.advertise]));
    const peers: DriverPeer[] = [];
    for (const r of this.store.recordsOf(net.name)) {
      const vtep = vteps.get(r.member);
      if (r.member === this.store.member || r.mac === undefined || r.mac === '' || vtep === undefined || vtep === this.store.advertise) continue;
      peers.push({ mac: r.mac, ipv4: r.ipv4, ...(r.ipv6 === undefined ? {} : { ipv6: r.ipv6 }), vtep });
    }
    driver.setPeers(net.driverNetwork, peers);
  }

  /** ClusterListener: apply mirror changes to the model. */
  changes(changes: readonly MirrorChange[]): void {
    const touched = new Set<string>();
    // The first batch is the store's first listing: every network's entries are reconciled with it (O5).
    let members = !this.#listed;
    this.#listed = true;
    for (const c of changes) {
      // One change this host cannot apply (a value that decodes but the model refuses: a gateway outside its
      // subnet, say) is skipped and logged; the rest of the batch still applies (M2).
      try {
        if (c.kind === 'network') this.#onNetwork(c.op, c.spec);
        else if (c.kind === 'record') {
          touched.add(c.network);
          this.#onRecord(c.op, c.network, c.record);
        } else if (c.kind === 'address') this.#onClaim(c.op, c.network, c.address, c.claim.endpoint);
        else if (c.kind === 'member') members = true;
      } catch (err) {
        this.#log.warn({ err, change: c.kind, op: 'op' in c ? c.op : undefined, network: 'network' in c ? c.network : undefined }, 'a cluster store change this host cannot apply: skipped');
      }
    }
    // One entry sync per network and batch (a VTEP moves with its member: every network then).
    for (const net of this.#d.networks()) {
      if (net.scope !== 'global' || !(members || touched.has(net.name))) continue;
      try {
        this.#syncPeers(net);
      } catch (err) {
        this.#log.warn({ err, network: net.name }, 'overlay entries of a global network not synced: skipped until its next change');
      }
    }
  }

  /** ClusterListener: a claim of ours is someone else's now: disconnect that endpoint, saying why (M7). */
  lost(claim: LostClaim): void {
    const net = this.#global(claim.network);
    const ep = net?.endpoints.get(claim.endpoint);
    if (net === undefined || ep === undefined) return;
    const reason = claim.networkDeleted === true
      ? `network ${net.name} was deleted in the cluster while this host could not reach it`
      : `address ${claim.address} was reclaimed while this host was away and is held by member ${claim.holder}`;
    this.#log.warn({ network: net.name, endpoint: ep.name, address: claim.address, holder: claim.holder }, `endpoint disconnected: ${reason}`);
    void this.#d.disconnect(ep, reason).catch((err: unknown) => this.#log.error({ err, endpoint: ep.name }, 'disconnect of a reclaimed endpoint failed'));
  }

  /** ClusterListener: the id of this host's global network of that name. */
  readonly networkId = (name: string): string | undefined => this.#global(name)?.id;

  #global(name: string): Network | undefined {
    return this.#d.networks().find((n) => n.name === name && n.scope === 'global');
  }

  #onNetwork(op: 'put' | 'delete', spec: NetworkSpec): void {
    const local = this.#d.networks().find((n) => n.name === spec.name);
    if (op === 'delete') {
      if (local?.scope === 'global' && local.id === spec.id && local.endpoints.size === 0 && !local.driverReady) this.#d.removeNetwork(local);
      return;
    }
    if (local !== undefined) {
      if (local.scope !== 'global' || local.id !== spec.id) this.#log.warn({ network: spec.name }, 'a global network has the name of another network here: not visible on this host');
      return;
    }
    let driverOptions: Readonly<Record<string, unknown>>;
    try {
      // Written by another host: checked as if given here (an unknown driver or a bad option is never trusted).
      driverOptions = this.#d.drivers.get(spec.driver).validateOptions(spec.options);
    } catch (err) {
      this.#log.warn({ err, network: spec.name, driver: spec.driver }, 'a global network this host cannot run: not visible on this host');
      return;
    }
    const { meta, dropped } = savedMeta(spec.labels, spec.created);
    if (dropped.length > 0) this.#log.warn({ network: spec.name, dropped }, 'a global network spec\'s labels or time this host does not take: shown without');
    const net = new Network(this.#d.core, {
      id: spec.id, name: spec.name, driver: spec.driver, internal: spec.internal, ttl: spec.ttl, dns: spec.dns, scope: 'global', driverReady: false,
      pool4: new Pool(spec.subnet, spec.gateway, spec.ipRange), pool6: spec.subnet6 === undefined ? undefined : new Pool(spec.subnet6, spec.gateway6), driverOptions, ...meta,
    });
    this.#d.addNetwork(net);
    for (const [address, c] of this.store.claimsOf(spec.name)) this.#onClaim('put', spec.name, address, c.endpoint);
    for (const r of this.store.recordsOf(spec.name)) this.#onRecord('put', spec.name, r);
  }

  #onRecord(op: 'put' | 'delete', network: string, record: RemoteRecord): void {
    if (record.member === this.store.member) return;
    const net = this.#global(network);
    if (net === undefined) return;
    net.records.removeEndpoint(remoteId(record));
    if (op === 'put') {
      net.records.addEndpoint({ endpointId: remoteId(record), names: record.names, ipv4: record.ipv4, ipv6: record.ipv6, ports: record.ports });
    }
  }

  #onClaim(op: 'put' | 'delete', network: string, address: string, endpoint: string): void {
    const net = this.#global(network);
    if (net === undefined || net.endpoints.has(endpoint)) return;
    const pool = net.pool4.contains(address) ? net.pool4 : net.pool6;
    if (op === 'put') pool?.reserve(address);
    else if (![...net.endpoints.values()].some((e) => e.ipv4 === address || e.ipv6 === address)) pool?.release(address);
  }
}
