/**
 * Controller (L1): networks, endpoints and sandboxes, the libnetwork model.
 * Every multi-step operation runs on an UndoStack (G10); state changes that
 * resolvers read are applied synchronously (G11, R15).
 */
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../common/log.js';
import { InvalidOptionError } from '../common/errors.js';
import { BridgeDriver, createFirewall, DriverRegistry, ExternalDriver, NotAttachableError, OverlayDriver, type Driver } from '../drivers/index.js';
import { isEphemeralNetnsPath, openSandbox, pinnedNetnsPath, type OpenedSandbox } from '../sandbox/index.js';
import { linkProblems, plumbJoin, plumbLeave, type AttachDeps } from './attach.js';
import { createSharedCache, type ForwardingOptions, type SharedCache } from '../resolver/index.js';
import { Network } from './network.js';
import { Endpoint, provisionalOf } from './endpoint.js';
import { refreshResolvConfs, Sandbox, type SandboxConfig } from './sandbox.js';
import type { ControllerCore, LinkState } from './core.js';
import * as errors from './errors.js';
import {
  checkIfname, checkObjectName, normalizeEndpointOptions, normalizeSandboxOptions,
  type ControllerOptions, type EndpointOptions, type JoinOptions, type NetworkOptions, type SandboxOptions,
} from './options.js';
import { reservePorts, sandboxStats, type InterfaceStats } from './ports.js';
import { allocateLocal, planNetwork, removeNetwork } from './plan.js';
import { watchResolvConf, type ResolvConfWatch } from '../resolvconf/index.js';
import { StateStore, StateWriteError, ClusterNotConfiguredError, epKey, netKey, sbKey, type ClusterStatus } from '../store/index.js';
import { ClusterBinding } from './cluster.js';
import { emptyReport, restoreState, type RestoreReport } from './restore.js';
import { Journal, unsavedDone, unsavedUndone } from './journal.js';
import { watchEndpointLinks } from './link-watch.js';
import { draftRecord, endpointKeys, networkRecord, recordOf, sandboxRecord, snapshotModel, type ModelIndex } from './snapshot.js';
import { isLateKey, joinDeferred } from './keys.js';
import { AsyncLock } from '../common/lock.js';
import { Reservations } from './reservations.js';
import { checkGivenPaths, claimRestored, planSandboxFiles, withSandboxClaims, type Claims, type FilesPlan } from './sandbox-files.js';

export type { ControllerOptions } from './options.js';

const newId = (): string => randomBytes(32).toString('hex');

/** The controller. */
export class Controller implements ControllerCore {
  readonly logger: Logger;
  readonly originResolvConf: string;
  readonly #filesRoot: string;
  readonly #runDir: string;
  readonly #pool: string;
  readonly #drivers: DriverRegistry;
  readonly #forwarding: { readonly cache: SharedCache | false; readonly options?: Partial<ForwardingOptions> } | false;
  readonly #networks = new Map<string, Network>();
  readonly #sandboxes = new Map<string, Sandbox>();
  readonly #pendingNames = new Reservations();
  /** Network create and delete run one at a time: subnet, bridge name and topology change as one step (L5). */
  readonly #allocation = new AsyncLock();
  /** Managed file paths and namespace names of sandboxes, live or being made (L5). */
  readonly #claims: Claims = { paths: new Set(), netns: new Set() };
  readonly #allowedFilesRoot: string | undefined;
  readonly #originalsDir: string;
  #closed = false;
  get #attachDeps(): AttachDeps {
    return { drivers: this.#drivers, logger: this.logger };
  }
  readonly #watchOrigin: boolean;
  #watch: ResolvConfWatch | undefined;
  #stopLinkWatch: (() => void) | undefined;
  readonly #journal: Journal;
  /** The model by id, for the store's journal lines. */
  readonly #index: ModelIndex = {
    network: (id) => this.#networks.get(id),
    sandbox: (id) => this.#sandboxes.get(id),
    networks: () => this.#networks.values(),
  };
  readonly #cluster: ClusterBinding | undefined;

  constructor(options: ControllerOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.originResolvConf = options.originResolvConf ?? '/etc/resolv.conf';
    this.#filesRoot = options.filesRoot ?? '/etc/netns';
    this.#runDir = options.runDir ?? '/run/sandns';
    this.#pool = options.defaultSubnetPool ?? '10.213.0.0/16';
    // One firewall for the bridge and overlay drivers: one table, so isolation holds between every network.
    const firewall = options.firewall === false ? undefined : createFirewall({ logger: this.logger, ...options.firewall });
    this.#drivers = new DriverRegistry(options.drivers ?? [
      new BridgeDriver({ firewall, logger: this.logger }), new ExternalDriver(), new OverlayDriver({ firewall, advertise: options.cluster?.advertise, logger: this.logger }),
    ]);
    const fwd = options.forwarding;
    this.#forwarding = fwd === false ? false : {
      cache: fwd?.cache === undefined ? createSharedCache() : fwd.cache,
      ...(fwd?.options ? { options: fwd.options } : {}),
    };
    this.#watchOrigin = options.watchOrigin ?? true;
    this.#allowedFilesRoot = options.allowedFilesRoot;
    this.#originalsDir = `${options.stateDir ?? this.#runDir}/originals`;
    const store = options.stateDir === undefined ? undefined : new StateStore(options.stateDir, this.logger, () => snapshotModel(this.networks(), this.sandboxes()), undefined, (key) => recordOf(this.#index, key));
    this.#journal = new Journal(store, this.logger);
    this.#cluster = options.cluster === undefined ? undefined : new ClusterBinding({
      store: options.cluster, logger: this.logger, core: this, drivers: this.#drivers, networks: () => this.networks(),
      addNetwork: (n) => this.#networks.set(n.id, n), removeNetwork: (n) => this.#networks.delete(n.id),
      disconnect: (ep) => this.leaveAndDelete(ep),
    });
    options.cluster?.setListener(this.#cluster!);
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
    const report = await this.#journal.store?.restore(async (state) => {
      const r = state === undefined ? emptyReport() : await restoreState({
        core: this, drivers: this.#drivers, logger: this.logger, originResolvConf: this.originResolvConf, forwarding: this.#forwarding,
        addNetwork: (n) => this.#networks.set(n.id, n), addSandbox: (s) => this.#adoptSandbox(s),
      }, state);
      for (const sb of this.sandboxes()) {
        if (isLateKey(sb) && sb.netnsPath !== '') await joinDeferred(sb).catch((err: unknown) => r.problems.push(`join of ${sb.id}: ${String(err)}`));
      }
      return r;
    });
    if (this.#sandboxes.size > 0) this.#startWatch();
    await this.#cluster?.adoptRestored();
    // The origin may have changed while the daemon was down: re-read it now and persist what it changes (L6).
    if (report !== undefined && this.#sandboxes.size > 0) await this.refreshOrigin();
    return report;
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

  /** A network by name or id; throws ERR_NETWORK_NOT_FOUND. */
  network(ref: string): Network {
    const n = this.#networks.get(ref) ?? this.networks().find((x) => x.name === ref);
    if (n === undefined) throw new errors.NetworkNotFoundError(ref);
    return n;
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

  /**
   * Create a network (L1, L2): validate the options, carve its pools, make
   * its bridge through the driver. `options.subnet` defaults to a free /24
   * of the default pool. Throws ERR_INVALID_OPTION / ERR_INVALID_NAME (bad
   * options), ERR_DRIVER_NOT_FOUND, ERR_NETWORK_EXISTS,
   * ERR_NETWORK_SUBNET_OVERLAP, ERR_IPAM_INVALID_SUBNET,
   * ERR_CONTROLLER_CLOSED.
   */
  async newNetwork(driverName: string, name: string, asked: NetworkOptions = {}): Promise<Network> {
    this.#open();
    checkObjectName('name', name);
    const driver = this.#drivers.get(driverName);
    const driverOptions = driver.validateOptions(asked.driverOptions ?? {});
    const key = `net:${name}`;
    // Overlay networks span hosts: they live in the cluster store (docs/overlay.md O1).
    if (driver.dataScope === 'global') {
      if (asked.scope === 'local') throw new InvalidOptionError('scope', `driver ${driverName} makes global networks only`);
      if (this.#cluster === undefined) throw new ClusterNotConfiguredError(`--driver ${driverName}`);
    }
    const options: NetworkOptions = driver.dataScope === 'global' ? { ...asked, scope: 'global' } : asked;
    // One allocation step: subnet, bridge name and bridge, never interleaved with another create or delete (L5).
    // The name is checked inside the lock too, so a create that fails later never makes a concurrent one fail (L5).
    const exists = (): boolean => this.networks().some((n) => n.name === name);
    if (options.scope === 'global') return this.#allocation.run(() => this.#pendingNames.run(key, exists, () => new errors.NetworkExistsError(name), () => this.#newGlobalNetwork(driverName, name, options, driverOptions)));
    return this.#allocation.run(() => this.#pendingNames.run(key, exists, () => new errors.NetworkExistsError(name), async () => {
      const net = await this.#plan(driverName, name, options, driverOptions, 'local', driver);
      // In the store before its bridge exists (L3).
      return this.#journal.around(key, { network: networkRecord(net, 'creating') }, () => driver.createNetwork(net.driverNetwork), async () => {
        this.#networks.set(net.id, net);
        await unsavedUndone(this.logger, this.#journal.committed({ network: name, subnet: net.pool4.subnet }, 'network created', netKey(net.id)), 'the network was not created', async () => {
          // On disk it is still 'creating', which a restart undoes too: memory and disk agree (L6).
          this.#networks.delete(net.id);
          await driver.deleteNetwork(net.driverNetwork);
        });
        return net;
      });
    }));
  }

  /** A global network: in the cluster store (overlap checked in its transaction, M3); its driver objects come with the first local endpoint. */
  async #newGlobalNetwork(driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>): Promise<Network> {
    const cluster = this.#globalBinding('--scope global');
    cluster.store.assertAvailable('create a global network');
    const net = await cluster.createNetwork(await this.#plan(driverName, name, options, driverOptions, 'global'));
    this.#networks.set(net.id, net);
    this.logger.info({ network: name, subnet: net.pool4.subnet, scope: 'global' }, 'network created');
    return net;
  }

  /** ControllerCore: delete a network. */
  async deleteNetwork(net: Network): Promise<void> {
    const cluster = this.#cluster;
    const release = net.scope === 'global' && cluster !== undefined ? () => cluster.deleteNetwork(net) : undefined;
    // Saved as 'deleting' before its bridge goes: a crash from then on is finished at restore, never adopted half-deleted (L3).
    const durably = (work: () => Promise<void>): Promise<void> => this.#journal.around(`net-rm:${net.id}`, { network: networkRecord(net, 'deleting') }, work, () => undefined);
    await this.#allocation.run(() => removeNetwork(this.#networks, net, this.#drivers.get(net.driver), release, durably));
    await unsavedDone(this.#journal.committed({ network: net.name }, 'network deleted', netKey(net.id)), 'the network was deleted, and its saved \'deleting\' record finishes the delete at a restart');
  }

  /** ControllerCore: what the network's driver shows of it. */
  describeNetwork(net: Network): Readonly<Record<string, unknown>> {
    return this.#drivers.get(net.driver).describeNetwork?.(net.driverNetwork) ?? {};
  }

  /** ControllerCore: create an endpoint (addresses allocated synchronously, G11). */
  async createEndpoint(net: Network, name: string, options: EndpointOptions): Promise<Endpoint> {
    this.#open();
    const { epName, aliases, links, publish, macAddress, ports, ip4, ip6 } = normalizeEndpointOptions(name, options);
    const named = (): [Endpoint | undefined] => [net.endpoint(epName)];
    for (let w = provisionalOf(named()); w; w = provisionalOf(named())) await w; // a refusal rests on answered operations (L5)
    if (!this.#networks.has(net.id)) throw new errors.NetworkNotFoundError(net.name);
    if (net.endpoint(epName) !== undefined) throw new errors.EndpointExistsError(epName, net.name);
    if (ip6 !== undefined && net.pool6 === undefined) throw new InvalidOptionError('ip6', `network ${net.name} has no IPv6 subnet`);
    if (this.#drivers.get(net.driver).dataScope === 'global' && net.driverOptions.attachable !== true) throw new NotAttachableError(net.name);
    const id = newId();
    // Host ports first: a taken one is a 409 with nothing changed; then re-check what the wait may have changed.
    const portMappings = publish.length === 0 ? [] : await reservePorts(this.#drivers, net, id, publish);
    let addresses: { ipv4: string; ipv6: string | undefined };
    try {
      for (let w = provisionalOf(named()); w; w = provisionalOf(named())) await w;
      if (!this.#networks.has(net.id)) throw new errors.NetworkNotFoundError(net.name);
      if (net.endpoint(epName) !== undefined) throw new errors.EndpointExistsError(epName, net.name);
      addresses = net.scope === 'global' ? await this.#globalBinding('a global network').endpointAddresses(net, epName, id, ip4, ip6) : allocateLocal(net, ip4, ip6);
    } catch (err) {
      if (portMappings.length > 0) await this.#drivers.get(net.driver).releasePorts?.(id);
      throw err;
    }
    const ep = new Endpoint(this, {
      id, name: epName, network: net, aliases, ...addresses, ports, links, portMappings, macAddress,
      disableResolution: options.disableResolution ?? false, joinedOnly: options.joinedOnly === true, provisional: options.provisional,
    });
    net.endpoints.set(ep.id, ep);
    // Coalesced: a join writes ahead before its plumbing, and the API answers only once everything is on disk (L6).
    for (const k of endpointKeys(ep)) this.#journal.changed(k);
    return ep;
  }

  /** ControllerCore: delete an endpoint. */
  async deleteEndpoint(ep: Endpoint): Promise<void> {
    if (ep.joining !== undefined) await ep.joining.catch(() => undefined);
    if (ep.sandbox !== undefined) throw new errors.EndpointActiveError(ep.name, ep.sandbox.id);
    if (!ep.network.endpoints.delete(ep.id)) return;
    if (ep.portMappings.length > 0) await this.#drivers.get(ep.network.driver).releasePorts?.(ep.id);
    ep.network.pool4.release(ep.ipv4);
    if (ep.ipv6 !== undefined) ep.network.pool6?.release(ep.ipv6);
    if (ep.network.scope === 'global' && this.#cluster !== undefined) {
      await this.#cluster.release(ep);
      await this.#cluster.dropDriverIfUnused(ep.network);
    }
    for (const k of endpointKeys(ep)) this.#journal.changed(k); // coalesced: the API answers only once it is on disk (L6)
  }

  /**
   * Create a sandbox (L1): its namespace (or adopt `options.netnsPath`, or
   * none yet with `options.external`), its hosts and resolv.conf files, and
   * its DNS listener once an endpoint joins. Throws ERR_INVALID_OPTION /
   * ERR_INVALID_NAME (bad options), ERR_SANDBOX_EXISTS, ERR_SANDBOX_NETNS
   * (the namespace cannot be made or is not one), ERR_CONTROLLER_CLOSED.
   */
  async newSandbox(containerId: string, options: SandboxOptions = {}): Promise<Sandbox> {
    this.#open();
    checkGivenPaths(options, this.#allowedFilesRoot);
    // A /proc/<pid>/ns/net key (ctr run --cni) is pinned: the sandbox keeps, persists and removes the pin.
    const pinFrom = options.netnsPath !== undefined && isEphemeralNetnsPath(options.netnsPath) ? options.netnsPath : undefined;
    const config = normalizeSandboxOptions(containerId, pinFrom === undefined ? options : { ...options, netnsPath: pinnedNetnsPath(containerId) }, this.#filesRoot);
    const key = `sb:${config.id}`;
    return this.#pendingNames.run(key, () => this.#sandboxes.has(config.id), () => new errors.SandboxExistsError(config.id), async () => {
      const ctx = { filesRoot: this.#filesRoot, runDir: this.#runDir, originalsDir: this.#originalsDir, originResolvConf: this.originResolvConf, allowedRoot: this.#allowedFilesRoot };
      return withSandboxClaims(config, this.#claims, async () => this.#makeSandbox(config, options, await planSandboxFiles(config, options, ctx), pinFrom));
    });
  }

  /** newSandbox once its names are claimed and its files checked: namespace, files, model. */
  async #makeSandbox(config: SandboxConfig, options: SandboxOptions, plan: FilesPlan, pinFrom: string | undefined): Promise<Sandbox> {
    const { resolvConfHashPath, ownedDirs, originals } = plan;
    const open = (durable: Promise<void>): Promise<OpenedSandbox> => openSandbox({
      id: config.id, netnsName: config.netnsName, netnsPath: config.externalKey, pinFrom, pending: options.external === true, logger: this.logger, filesAfter: durable,
      files: {
        ...config, originResolvConf: this.originResolvConf, extraHosts: config.extraHosts.map((h) => ({ ip: h.ip, hosts: h.name })),
        legacy: config.disableResolution, resolvConfHashPath, ownedDirs, originals,
      },
      forwarding: this.#forwarding,
    });
    // In the store before its namespace exists (L3), and synced before its files are written: the namespace is made
    // while the sync runs, as a reboot ends it anyway (Journal.around's overlap).
    return this.#journal.around(`sb:${config.id}`, { sandbox: draftRecord({ config, resolvConfHashPath, ownedDirs, originals }) }, open, async (opened) => {
      const sb = new Sandbox(this, config, opened);
      this.#sandboxes.set(sb.id, sb);
      this.#startWatch();
      await unsavedUndone(this.logger, this.#journal.committed({ sandbox: sb.id, netns: opened.netnsPath }, 'sandbox created', sbKey(sb.id)), 'the sandbox was not created', async () => {
        // On disk it is still 'creating', which a restart undoes too (L6).
        this.#sandboxes.delete(sb.id);
        await sb.destroy();
      });
      return sb;
    }, true);
  }

  /** ControllerCore: delete a sandbox, leaving and deleting its endpoints first (as libnetwork). */
  async deleteSandbox(sb: Sandbox): Promise<void> {
    if (!this.#sandboxes.has(sb.id) || sb.deleting) throw new errors.SandboxNotFoundError(sb.id);
    sb.deleting = true; // a join from now on answers 404 (L5)
    this.#sandboxes.delete(sb.id);
    try {
      // Saved as 'deleting' before its first endpoint leaves, until its namespace is gone: a crash anywhere in between
      // is finished at restore, never left half-done (L3, L6).
      await this.#journal.around(`sb-rm:${sb.id}`, { sandbox: sandboxRecord(sb, 'deleting') }, async () => {
        // Covered by the 'deleting' intent: each step need not wait for its own write.
        for (const ep of [...sb.endpoints.values()]) await this.leaveAndDelete(ep, false, false);
        await sb.destroy();
      }, () => undefined);
    } catch (err) {
      this.#sandboxes.set(sb.id, sb);
      sb.deleting = false;
      throw err;
    }
    sb.releaseClaims?.();
    await unsavedDone(this.#journal.committed({ sandbox: sb.id }, 'sandbox deleted', sbKey(sb.id)), 'the sandbox was deleted, and its saved \'deleting\' record finishes the delete at a restart');
  }

  /** ControllerCore: join (driver plumbing, records, view, files, listener). */
  async join(ep: Endpoint, sb: Sandbox, options: JoinOptions): Promise<void> {
    this.#open();
    const rival = provisionalOf([...sb.endpoints.values()].filter((e) => e !== ep && e.network === ep.network));
    if (rival !== undefined) {
      await rival; // L5: refuse on answered state only, then look again
      return this.join(ep, sb, options);
    }
    if (ep.sandbox !== undefined) throw new errors.EndpointAlreadyJoinedError(ep.name, ep.sandbox.id);
    if (!this.#sandboxes.has(sb.id) || sb.deleting) throw new errors.SandboxNotFoundError(sb.id);
    if (!ep.network.endpoints.has(ep.id)) throw new errors.EndpointNotFoundError(ep.name, ep.network.name);
    if ([...sb.endpoints.values()].some((e) => e.network === ep.network)) throw new errors.AlreadyOnNetworkError(sb.id, ep.network.name);
    if (ep.network.scope === 'global') this.#cluster?.store.assertAvailable('join a global network');
    // Claimed synchronously: a concurrent join of the same endpoint fails (G11).
    const wantsGateway = sb.netnsPath !== '' && !ep.network.internal && ![...sb.endpoints.values()].some((e) => e.gateway);
    const ifname = checkIfname(options.ifname);
    if (ifname !== undefined && sb.ifnames.has(ifname)) throw new errors.IfnameInUseError(sb.id, ifname);
    ep.attach({ sandbox: sb, priority: options.priority ?? 0, gateway: wantsGateway, link: undefined, ...(ifname === undefined ? {} : { ifname }) });
    sb.endpoints.set(ep.id, ep);
    const unclaim = async (): Promise<void> => void (ep.attach(undefined), sb.endpoints.delete(ep.id));
    const claimed = (): Promise<void> => this.#journal.committed({ endpoint: ep.name, sandbox: sb.id }, 'endpoint claimed: it joins when the sandbox gets its key', ...endpointKeys(ep));
    if (sb.netnsPath === '') return await unsavedUndone(this.logger, claimed(), 'the endpoint did not join', unclaim);
    const dev = sb.reserveIfname(ifname);
    // The claim is on disk before any plumbing; when that write fails nothing is plumbed and the claim goes (L6).
    const ahead = this.#journal.flushed(epKey(ep.id)).catch(async (err: unknown) => {
      await unclaim();
      sb.ifnames.delete(dev);
      throw err instanceof StateWriteError ? err.withOutcome('the endpoint did not join') : err;
    });
    const joining = ahead.then(() => plumbJoin(this.#attachDeps, ep, sb, dev, wantsGateway))
      .then(() => this.#cluster?.publishJoined(ep, sb, () => plumbLeave(this.#attachDeps, ep, sb)));
    ep.joining = joining;
    try {
      await joining;
    } finally {
      ep.joining = undefined;
    }
    // On disk the join is still 'joining', which a restart undoes too (L6).
    await unsavedUndone(this.logger, this.#journal.committed({ endpoint: ep.name, network: ep.network.name, sandbox: sb.id, ifname: dev }, 'endpoint joined', ...endpointKeys(ep)), 'the endpoint did not join', () => this.leave(ep, sb, false));
  }

  /** ControllerCore: each joined endpoint's link problems, from its driver (CNI CHECK). */
  linkProblems(sb: Sandbox): Promise<LinkState[]> {
    return linkProblems(this.#attachDeps, sb);
  }

  /**
   * ControllerCore: leave. Names vanish (R15) — on every host for global networks (M5) — then the plumbing. With
   * `refusable` (a disconnect) a refused hosts edit refuses the leave with nothing changed, on this host or others.
   */
  async leave(ep: Endpoint, sb: Sandbox, durable = true, refusable = false): Promise<void> {
    if (ep.joining !== undefined) await ep.joining.catch(() => undefined);
    while (ep.leaving !== undefined) await ep.leaving; // one leave at a time: then look again (L5)
    if (ep.sandbox !== sb) throw new errors.EndpointNotJoinedError(ep.name, sb.id);
    const leaving = this.#leave(ep, sb, durable, refusable);
    const settled = leaving.then(() => undefined, () => undefined);
    ep.leaving = settled; // set in the same synchronous run as the check above: a waiter resumed later sees it
    try {
      await leaving;
    } finally {
      if (ep.leaving === settled) ep.leaving = undefined;
    }
  }

  /** leave once it is this endpoint's only leave in progress. */
  async #leave(ep: Endpoint, sb: Sandbox, durable: boolean, refusable: boolean): Promise<void> {
    const cluster = ep.network.scope === 'global' ? this.#cluster : undefined;
    const global = cluster === undefined ? {} : { before: () => cluster.unpublish(ep), undoBefore: () => cluster.publish(ep, sb) };
    // Refused with nothing changed (the endpoint still joined): thrown as is. A step that failed after the endpoint
    // left the sandbox: the leave is recorded all the same, then thrown.
    const failure = await plumbLeave(this.#attachDeps, ep, sb, { refusable, ...global }).then(() => undefined, (err: unknown) => ({ err }));
    if (failure !== undefined && ep.sandbox === sb) throw failure.err;
    const fields = { endpoint: ep.name, network: ep.network.name, sandbox: sb.id };
    const keys = [...endpointKeys(ep), ...[...sb.endpoints.keys()].map(epKey)]; // the default route may have moved
    if (durable) await unsavedDone(this.#journal.committed(fields, 'endpoint left', ...keys), 'the endpoint left; a restart finds its link gone and drops it');
    else {
      this.logger.info(fields, 'endpoint left');
      for (const k of keys) this.#journal.changed(k);
    }
    if (failure !== undefined) throw failure.err;
  }

  /**
   * ControllerCore: leave (when joined; `refusable` as in leave) and delete an endpoint. A leave that failed after
   * the endpoint had left (a later step: its veth, a file edit; or its state write, L6) still deletes it, so nothing
   * stays unjoined and out of every sandbox's reach; then the leave's failure is thrown.
   */
  async leaveAndDelete(ep: Endpoint, refusable = false, durable = true): Promise<void> {
    const sb = ep.sandbox;
    const failure = sb === undefined ? undefined : await this.leave(ep, sb, durable, refusable).then(() => undefined, (err: unknown) => {
      if (ep.sandbox === sb) throw err; // refused: still joined, nothing changed
      // Another leave, in progress when this one began, took it out of `sb`: that is the leave this one asked for.
      if (err instanceof errors.EndpointNotJoinedError && ep.sandbox === undefined) return undefined;
      return { err };
    });
    if (failure === undefined) return this.deleteEndpoint(ep);
    await this.deleteEndpoint(ep).catch((err: unknown) => this.logger.warn({ err, endpoint: ep.name }, 'delete after a failed leave failed'));
    throw failure.err;
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

  /** Delete every sandbox and network this controller made (tests, demo). */
  async destroyAll(): Promise<void> {
    for (const sb of this.sandboxes()) await sb.delete().catch((err: unknown) => this.logger.warn({ err, sandbox: sb.id }, 'sandbox delete failed'));
    for (const net of this.networks()) {
      for (const ep of [...net.endpoints.values()]) await ep.delete().catch(() => undefined);
      await net.delete().catch((err: unknown) => this.logger.warn({ err, network: net.name }, 'network delete failed'));
    }
  }

  /** A restored sandbox: in the model, with its managed paths and namespace name claimed again (L5). */
  #adoptSandbox(sb: Sandbox): void {
    this.#sandboxes.set(sb.id, sb);
    sb.releaseClaims = claimRestored(sb.config, this.#claims, this.logger);
  }

  /** The network newNetwork would make (plan.ts), with this controller's networks, pool and the cluster's subnets. */
  async #plan(driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>, scope: 'local' | 'global', driver?: Driver): Promise<Network> {
    const clusterSubnets = scope === 'global' ? (this.#cluster?.store.networks().map((n) => n.subnet) ?? []) : [];
    return planNetwork({ core: this, pool: this.#pool, networks: this.networks(), clusterSubnets, id: newId() }, { driverName, name, options, driverOptions, scope, driver });
  }

  #globalBinding(what: string): ClusterBinding {
    if (this.#cluster === undefined) throw new ClusterNotConfiguredError(what);
    return this.#cluster;
  }

  #open(): void {
    if (this.#closed) throw new errors.ControllerClosedError();
  }
}

