/**
 * Controller (L1): networks, endpoints and sandboxes, the libnetwork model.
 * Every multi-step operation runs on an UndoStack (G10); state changes that
 * resolvers read are applied synchronously (G11, R15).
 */
import { silentLogger, type Logger } from '../common/log.js';
import { AsyncLock } from '../common/lock.js';
import { BridgeDriver, createFirewall, DriverRegistry, ExternalDriver, OverlayDriver } from '../drivers/index.js';
import { createSharedCache } from '../resolver/index.js';
import { watchResolvConf, type ResolvConfWatch } from '../resolvconf/index.js';
import { StateStore, StateWriteError, type ClusterStatus } from '../store/index.js';
import { linkProblems } from './attach.js';
import { ClusterBinding } from './cluster.js';
import type { OpsContext } from './context.js';
import type { ControllerCore, LinkState } from './core.js';
import type { Endpoint } from './endpoint.js';
import * as errors from './errors.js';
import { deleteSandbox, newSandbox } from './sandbox-ops.js';
import { join, leave, leaveAndDelete } from './join-ops.js';
import { Journal } from './journal.js';
import { isLateKey, joinDeferred } from './keys.js';
import { watchEndpointLinks } from './link-watch.js';
import type { Network } from './network.js';
import { createEndpoint, deleteEndpoint, deleteNetwork, newNetwork } from './network-ops.js';
import type { ControllerOptions, EndpointOptions, JoinOptions, NetworkOptions, SandboxOptions } from './options.js';
import { allSandboxStats, sandboxStats, type InterfaceStats } from './ports.js';
import { Reservations } from './reservations.js';
import { emptyReport, restoreState, type RestoreReport } from './restore.js';
import { refreshResolvConfs, type Sandbox } from './sandbox.js';
import { claimNetns, claimRestored, releaseNetns, type Claims } from './sandbox-files.js';
import { recordOf, snapshotModel, type ModelIndex } from './snapshot.js';

/** The operations, by the names the Controller's methods delegate to. */
const ops = { newNetwork, deleteNetwork, createEndpoint, deleteEndpoint, newSandbox, deleteSandbox, join, leave, leaveAndDelete };

export type { ControllerOptions } from './options.js';

/** The controller: the model's state and its operations (network-ops.ts, sandbox-ops.ts, join-ops.ts) on it. */
export class Controller implements ControllerCore {
  readonly logger: Logger;
  readonly originResolvConf: string;
  readonly #drivers: DriverRegistry;
  readonly #networks = new Map<string, Network>();
  readonly #sandboxes = new Map<string, Sandbox>();
  /** Managed file paths and namespace names of sandboxes, live or being made (L5). */
  readonly #claims: Claims = { paths: new Set(), netns: new Set(), namespaces: new Map(), namespaceOf: new Map() };
  #closed = false;
  readonly #watchOrigin: boolean;
  #watch: ResolvConfWatch | undefined;
  #stopLinkWatch: (() => void) | undefined;
  readonly #journal: Journal;
  readonly #cluster: ClusterBinding | undefined;
  /** What the operations share (context.ts). */
  readonly #ctx: OpsContext;

  constructor(options: ControllerOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.originResolvConf = options.originResolvConf ?? '/etc/resolv.conf';
    const runDir = options.runDir ?? '/run/sandns';
    // One firewall for the bridge and overlay drivers: one table, so isolation holds between every network.
    const firewall = options.firewall === false ? undefined : createFirewall({ logger: this.logger, ...options.firewall });
    this.#drivers = new DriverRegistry(options.drivers ?? [
      new BridgeDriver({ firewall, logger: this.logger }), new ExternalDriver(), new OverlayDriver({ firewall, advertise: options.cluster?.advertise, logger: this.logger }),
    ]);
    const fwd = options.forwarding;
    this.#watchOrigin = options.watchOrigin ?? true;
    // The model by id, for the store's journal lines.
    const index: ModelIndex = { network: (id) => this.#networks.get(id), sandbox: (id) => this.#sandboxes.get(id), networks: () => this.#networks.values() };
    const store = options.stateDir === undefined ? undefined : new StateStore(options.stateDir, this.logger, () => snapshotModel(this.networks(), this.sandboxes()), undefined, (key) => recordOf(index, key));
    this.#journal = new Journal(store, this.logger);
    this.#cluster = options.cluster === undefined ? undefined : new ClusterBinding({
      store: options.cluster, logger: this.logger, core: this, drivers: this.#drivers, networks: () => this.networks(),
      addNetwork: (n) => this.#networks.set(n.id, n), removeNetwork: (n) => this.#networks.delete(n.id),
      disconnect: (ep) => this.leaveAndDelete(ep),
    });
    options.cluster?.setListener(this.#cluster!);
    this.#ctx = {
      core: this, logger: this.logger, drivers: this.#drivers, networks: this.#networks, sandboxes: this.#sandboxes,
      pendingNames: new Reservations(), allocation: new AsyncLock(), claims: this.#claims, journal: this.#journal, cluster: this.#cluster,
      pool: options.defaultSubnetPool ?? '10.213.0.0/16',
      files: {
        filesRoot: options.filesRoot ?? '/etc/netns', runDir, originalsDir: `${options.stateDir ?? runDir}/originals`,
        originResolvConf: this.originResolvConf, allowedRoot: options.allowedFilesRoot,
      },
      forwarding: fwd === false ? false : { cache: fwd?.cache === undefined ? createSharedCache() : fwd.cache, ...(fwd?.options ? { options: fwd.options } : {}) },
      startWatch: () => this.#startWatch(),
      assertOpen: () => this.#open(),
    };
  }

  /** The cluster store's state (`sandns status`), or undefined on a single host. */
  clusterStatus(): ClusterStatus | undefined {
    return this.#cluster?.store.status();
  }

  /**
   * Restore the persisted state (L3): rebuild networks, sandboxes and
   * endpoints, reconcile the kernel, join what waited for a late key. Once,
   * before any change; undefined without a stateDir. Throws
   * ERR_STORE_NOT_RESTORED (twice, or after a change), ERR_STORE_LOCKED,
   * ERR_STORE_VERSION; a bad record is reported, never fatal.
   */
  async restore(): Promise<RestoreReport | undefined> {
    const report = await this.#journal.store?.restore(async (state, { rebooted }) => {
      const r = state === undefined ? emptyReport() : await restoreState({
        core: this, drivers: this.#drivers, logger: this.logger, originResolvConf: this.originResolvConf, forwarding: this.#ctx.forwarding, rebooted,
        // Staged at once: the snapshot restore writes next holds them (the journal line alone is not synced).
        addNetwork: (n) => this.#networks.set(n.id, n), addSandbox: (s) => this.#adoptSandbox(s), keepUnfinished: (i) => this.#journal.keep('unfinished', i),
      }, state);
      // A join to a global network needs the cluster store, which starts after restore: joinClaimed does those.
      r.problems.push(...await this.#joinClaimed((sb) => this.#cluster === undefined || ![...sb.endpoints.values()].some((e) => e.network.scope === 'global')));
      return r;
    });
    if (this.#sandboxes.size > 0) this.#startWatch();
    await this.#cluster?.adoptRestored();
    // The origin may have changed while the daemon was down: re-read it now and persist what it changes (L6).
    if (report !== undefined && this.#sandboxes.size > 0) await this.refreshOrigin();
    return report;
  }

  /**
   * Join what keyed late sandboxes still only claim: a restart that came between a key set and its joins (restore
   * does those on local networks; the daemon calls this once the cluster store has started, for global ones). A
   * join that fails leaves its endpoint claimed, waiting for the next key. Returns the failures, each in a line.
   */
  async joinClaimed(): Promise<string[]> {
    const problems = await this.#joinClaimed(() => true);
    for (const p of problems) this.logger.warn({ problem: p }, 'a claimed endpoint did not join its sandbox: it waits for the next key');
    return problems;
  }

  async #joinClaimed(which: (sb: Sandbox) => boolean): Promise<string[]> {
    const problems: string[] = [];
    for (const sb of this.sandboxes()) {
      if (!isLateKey(sb) || sb.netnsPath === '' || !which(sb)) continue;
      await joinDeferred(sb, true).catch((err: unknown) => problems.push(`join of ${sb.id}: ${String(err)}`));
    }
    return problems;
  }

  /** Persist a change made outside the controller's own operations (sandbox keys). */
  changed(): void {
    this.#journal.changed();
  }

  /** Resolves once every change so far is on disk (the API awaits it before answering a mutation; L6). Throws ERR_STORE_WRITE_FAILED. */
  persisted(): Promise<void> {
    return this.#journal.settled();
  }

  /** Throws ERR_STORE_DEGRADED (503) while the state cannot be written: the API refuses mutations up front (L6). */
  assertWritable(): void {
    this.#journal.assertWritable();
  }

  /** Re-read the origin file for every sandbox: new upstreams live, files rewritten unless user-modified (C5). */
  async refreshOrigin(): Promise<void> {
    await refreshResolvConfs(this.sandboxes(), this.logger);
    // The new upstreams are what a restart must use (L6). A failed write leaves the daemon degraded; the retry saves them.
    await this.#journal.persisted().catch((err: unknown) => (err instanceof StateWriteError ? undefined : Promise.reject(err)));
  }

  #startWatch(): void {
    this.#stopLinkWatch ??= watchEndpointLinks({
      drivers: this.#drivers, logger: this.logger, networks: () => this.#networks.values(),
      drop: (ep) => this.leaveAndDelete(ep),
    });
    if (!this.#watchOrigin || this.#watch !== undefined) return;
    this.#watch = watchResolvConf(this.originResolvConf, () => {
      this.logger.info({ origin: this.originResolvConf }, 'origin resolv.conf changed; refreshing sandboxes');
      void this.refreshOrigin();
    }, { logger: this.logger });
  }

  /** Every network. */
  networks(): Network[] {
    return [...this.#networks.values()];
  }

  /**
   * A network by id, name, or a prefix of its id that no other network's id has (the 12 characters `network ls`
   * prints; in that order, as Docker's FindNetwork). Throws ERR_NETWORK_NOT_FOUND (404), ERR_NETWORK_AMBIGUOUS (400)
   * for a prefix of several ids.
   */
  network(ref: string): Network {
    const n = this.#networks.get(ref) ?? this.networks().find((x) => x.name === ref);
    if (n !== undefined) return n;
    const byPrefix = /^[0-9a-f]{1,63}$/.test(ref) ? this.networks().filter((x) => x.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new errors.NetworkAmbiguousError(ref, byPrefix.length);
    if (byPrefix.length === 0) throw new errors.NetworkNotFoundError(ref);
    return byPrefix[0]!;
  }

  /** Every sandbox. */
  sandboxes(): Sandbox[] {
    return [...this.#sandboxes.values()];
  }

  /** A sandbox by id; throws ERR_SANDBOX_NOT_FOUND. */
  sandbox(id: string): Sandbox {
    const s = this.#sandboxes.get(id);
    if (s === undefined) throw new errors.SandboxNotFoundError(id);
    return s;
  }

  /** Create a network (network-ops.ts newNetwork; also ERR_CONTROLLER_CLOSED). Always a promise: every failure rejects. */
  async newNetwork(driverName: string, name: string, options: NetworkOptions = {}): Promise<Network> {
    this.#open();
    return ops.newNetwork(this.#ctx, driverName, name, options);
  }

  /** ControllerCore: delete a network. */
  deleteNetwork(net: Network): Promise<void> {
    return ops.deleteNetwork(this.#ctx, net);
  }

  /** ControllerCore: what the network's driver shows of it. */
  describeNetwork(net: Network): Readonly<Record<string, unknown>> {
    return this.#drivers.get(net.driver).describeNetwork?.(net.driverNetwork) ?? {};
  }

  /** ControllerCore: create an endpoint (network-ops.ts; also ERR_CONTROLLER_CLOSED). */
  async createEndpoint(net: Network, name: string, options: EndpointOptions): Promise<Endpoint> {
    this.#open();
    return ops.createEndpoint(this.#ctx, net, name, options);
  }

  /** ControllerCore: delete an endpoint. */
  deleteEndpoint(ep: Endpoint): Promise<void> {
    return ops.deleteEndpoint(this.#ctx, ep);
  }

  /** Create a sandbox (sandbox-ops.ts newSandbox; also ERR_CONTROLLER_CLOSED). */
  async newSandbox(containerId: string, options: SandboxOptions = {}): Promise<Sandbox> {
    this.#open();
    return ops.newSandbox(this.#ctx, containerId, options);
  }

  /** ControllerCore: delete a sandbox, leaving and deleting its endpoints first (as libnetwork). */
  deleteSandbox(sb: Sandbox): Promise<void> {
    return ops.deleteSandbox(this.#ctx, sb);
  }

  /** ControllerCore: join (join-ops.ts; also ERR_CONTROLLER_CLOSED). */
  async join(ep: Endpoint, sb: Sandbox, options: JoinOptions): Promise<void> {
    this.#open();
    return ops.join(this.#ctx, ep, sb, options);
  }

  /** ControllerCore: each joined endpoint's link problems, from its driver (CNI CHECK). */
  linkProblems(sb: Sandbox): Promise<LinkState[]> {
    return linkProblems(this.#ctx, sb);
  }

  /** ControllerCore: leave (join-ops.ts; `durable` and `refusable` as there). */
  leave(ep: Endpoint, sb: Sandbox, durable = true, refusable = false): Promise<void> {
    return ops.leave(this.#ctx, ep, sb, durable, refusable);
  }

  /** ControllerCore: leave the namespace, staying claimed (join-ops.ts leave with keepClaim; a late key released). */
  unplug(ep: Endpoint, sb: Sandbox): Promise<void> {
    return ops.leave(this.#ctx, ep, sb, true, false, true);
  }

  /** ControllerCore: join a sandbox that claims the endpoint, claimed still on failure (join-ops.ts join with resume). */
  async plug(ep: Endpoint, sb: Sandbox): Promise<void> {
    this.#open();
    const ifname = ep.attachment?.ifname;
    return ops.join(this.#ctx, ep, sb, { priority: ep.priority, ...(ifname === undefined ? {} : { ifname }) }, true);
  }

  /** ControllerCore: leave when joined, and delete (join-ops.ts; every disconnect goes through it). */
  leaveAndDelete(ep: Endpoint, refusable = false, durable = true): Promise<void> {
    return ops.leaveAndDelete(this.#ctx, ep, refusable, durable);
  }

  /** Stop every listener. Namespaces and kernel objects stay (a daemon restart re-attaches). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
    this.#stopLinkWatch?.();
    await Promise.all(this.sandboxes().map((s) => s.stopListener()));
    await this.#journal.store?.close();
    await this.#drivers.closeAll();
  }

  /**
   * Interface statistics of a sandbox (libcontainer's NetworkStats): rx/tx bytes, packets, errors and drops of
   * each joined interface, seen from inside the sandbox. An interface whose link is gone is left out.
   */
  stats(sb: Sandbox): Promise<InterfaceStats[]> {
    return sandboxStats(this.#drivers, sb);
  }

  /**
   * stats() of every sandbox at once, by sandbox id: one driver call (one host link dump) for all of them. A driver
   * that fails is logged and its interfaces left out; the others' are still given.
   */
  async allStats(): Promise<Map<string, InterfaceStats[]>> {
    const all = await allSandboxStats(this.#drivers, this.sandboxes(), (driver, err) => this.logger.warn({ err, driver }, 'interface counters of a driver could not be read'));
    return new Map([...all].map(([sb, s]) => [sb.id, s]));
  }

  /** Delete every sandbox and network this controller made (tests, demo). */
  async destroyAll(): Promise<void> {
    for (const sb of this.sandboxes()) await sb.delete().catch((err: unknown) => this.logger.warn({ err, sandbox: sb.id }, 'sandbox delete failed'));
    for (const net of this.networks()) {
      for (const ep of [...net.endpoints.values()]) await ep.delete().catch(() => undefined);
      await net.delete().catch((err: unknown) => this.logger.warn({ err, network: net.name }, 'network delete failed'));
    }
  }

  /** A restored sandbox: in the model, with its managed paths, namespace name and namespace claimed again (L5). */
  #adoptSandbox(sb: Sandbox): void {
    this.#sandboxes.set(sb.id, sb);
    sb.releaseClaims = claimRestored(sb.config, this.#claims, this.logger);
    if (sb.netnsPath !== '') {
      try {
        claimNetns(this.#claims, sb.id, sb.netnsPath);
      } catch (err) {
        this.logger.warn({ err, sandbox: sb.id }, 'restored sandbox shares its namespace with another');
      }
    }
  }

  /** ControllerCore: claim the namespace at `path` for sandbox `id` (sandbox-files.ts claimNetns). */
  claimNetns(id: string, path: string): void {
    claimNetns(this.#claims, id, path);
  }

  /** ControllerCore: give back the namespace sandbox `id` holds. */
  releaseNetns(id: string): void {
    releaseNetns(this.#claims, id);
  }

  #open(): void {
    if (this.#closed) throw new errors.ControllerClosedError();
  }
}

