/**
 * SandboxRuntime: one container's namespace, its managed files and its DNS
 * listener. Implements the resolver's ResolverView (G2); join/leave replace
 * the arrays the view returns in one synchronous step (G11, R15).
 */
import type { Logger } from '../common/log.js';
import type { HostsRecord } from '../etchosts/index.js';
import type { ExtServer } from '../resolvconf/index.js';
import type { LinkAlias, NetworkView, ResolverMetrics, ResolverView, Upstream } from '../resolver/index.js';
import { sortEndpoints } from './order.js';
import {
  addOwnRecords,
  ownRecords,
  removeOwnRecords,
  syncResolvConf,
  writeInitialHosts,
  type DnsFilesConfig,
  type OriginLoader,
} from './dns-files.js';

/** One joined endpoint as the sandbox sees it. */
export interface SandboxEndpoint {
  readonly endpointId: string;
  readonly network: NetworkView;
  readonly networkName: string;
  readonly internal: boolean;
  readonly priority: number;
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  /** Whether this endpoint wants the embedded resolver (not disableResolution). */
  readonly resolution: boolean;
  /** Link aliases this endpoint declares: alias -> target name on its network. */
  readonly linkAliases: ReadonlyMap<string, string>;
  /** The network's own DNS servers, used when the sandbox gives none (queried from inside the sandbox). */
  readonly networkDns?: readonly string[] | undefined;
}

/** A started resolver, as the runtime keeps it. */
export interface RunningResolver {
  readonly metrics: ResolverMetrics;
  close(): Promise<void>;
}

/** Hooks the runtime uses to reach the OS (injected so tests can fake them). */
export interface SandboxIo {
  /** Start the resolver for this view on the sandbox's 127.0.0.11 listeners. */
  startResolver(view: ResolverView): Promise<RunningResolver>;
  /** Is IPv6 enabled inside the namespace? */
  ipv6Enabled(): Promise<boolean>;
}

/** The runtime state of one sandbox. */
export class SandboxRuntime implements ResolverView {
  readonly id: string;
  readonly files: DnsFilesConfig;
  readonly #logger: Logger;
  readonly #io: SandboxIo;
  #endpoints: readonly SandboxEndpoint[] = [];
  #networks: readonly NetworkView[] = [];
  #linkAliases: ReadonlyMap<string, readonly LinkAlias[]> = new Map();
  #extServers: readonly ExtServer[] = [];
  #upstreams: readonly Upstream[] = [];
  #ndotsSet = false;
  #ipv6 = true;
  /**
   * What resolv.conf is written for (C2/C3), decided at each join (as Docker's updateDNS; a leave changes nothing):
   * the legacy file while no endpoint joined so far wanted the resolver (R1: then nothing listens on 127.0.0.11),
   * and whether any endpoint has an IPv6 address (the legacy file keeps IPv6 servers only then).
   */
  #dnsMode: { readonly legacy: boolean; readonly ipv6: boolean };
  /** Set once an endpoint wanting the resolver joined: the resolver, once wanted, stays (R1, as Docker's). */
  #resolverWanted = false;
  #resolver: RunningResolver | undefined;
  #resolverStarting: Promise<void> | undefined;
  /** Set once the sandbox's files are about to be removed: no rewrite may start (it would make them again). */
  #filesRetired = false;
  /** resolv.conf rewrites in flight: the files' removal waits for them. */
  readonly #rewrites = new Set<Promise<void>>();

  constructor(id: string, files: DnsFilesConfig, io: SandboxIo, logger: Logger) {
    this.id = id;
    this.files = files;
    this.#io = io;
    this.#logger = logger;
    this.#dnsMode = { legacy: files.legacy, ipv6: false };
  }

  // --- ResolverView (read per query) ---
  get networks(): readonly NetworkView[] {
    return this.#networks;
  }
  get linkAliases(): ReadonlyMap<string, readonly LinkAlias[]> {
    return this.#linkAliases;
  }
  get ndotsSet(): boolean {
    return this.#ndotsSet;
  }
  get upstreams(): readonly Upstream[] {
    return this.#upstreams;
  }
  get externalAccess(): boolean {
    return this.#endpoints.some((e) => !e.internal);
  }

  /** Joined endpoints in R4 order. */
  get endpoints(): readonly SandboxEndpoint[] {
    return this.#endpoints;
  }

  /** External servers from the last resolv.conf sync. */
  get extServers(): readonly ExtServer[] {
    return this.#extServers;
  }

  /** The resolver's counters (R16), once the listener is serving. */
  get metrics(): ResolverMetrics | undefined {
    return this.#resolver?.metrics;
  }

  /** True once the listener is serving. */
  get listening(): boolean {
    return this.#resolver !== undefined;
  }

  /** Write the initial files (H1, C2): two independent files, written and synced side by side. */
  async init(): Promise<void> {
    this.#ipv6 = await this.#io.ipv6Enabled();
    // allSettled: on a failure the caller removes the files, so neither write may still be running then.
    const results = await Promise.allSettled([writeInitialHosts(this.files, this.#ipv6), this.refreshResolvConf(undefined, true)]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * Re-read the origin resolv.conf (through `load`, shared by a refresh of many) and overrides; rewrite the file
   * unless user-modified (C2, C4, C5), or in any case when `fresh` (the sandbox's first write).
   */
  async refreshResolvConf(load?: OriginLoader, fresh = false): Promise<void> {
    if (this.#filesRetired) return; // the sandbox is going: a write now would leave its files (and directories) behind
    const rewrite = syncResolvConf({ ...this.files, legacy: this.#dnsMode.legacy }, this.#dnsMode.ipv6, this.#logger, this.#networkDns(), load, fresh);
    const tracked = rewrite.then(() => undefined, () => undefined);
    this.#rewrites.add(tracked);
    try {
      const r = await rewrite;
      this.#extServers = r.extServers;
      this.#ndotsSet = r.ndotsSet;
      this.#upstreams = r.extServers.map((s) => ({ address: s.address, port: 53, origin: s.origin }));
    } finally {
      this.#rewrites.delete(tracked);
    }
  }

  /**
   * The sandbox's files are about to be removed: resolves once no resolv.conf rewrite is running, and none starts
   * after (an origin refresh that reaches a sandbox being deleted writes nothing; C5 with L3's "nothing leaks").
   */
  async retireFiles(): Promise<void> {
    this.#filesRetired = true;
    await Promise.all(this.#rewrites);
  }

  /**
   * Attach an endpoint: view first (R15), then its hosts lines and the listener (R1) side by side (a file edit and
   * two socket binds that do not depend on each other; both are done when this resolves).
   */
  async attach(ep: SandboxEndpoint): Promise<void> {
    const dnsBefore = this.#networkDns().join(' ');
    const [modeBefore, wantedBefore] = [this.#dnsMode, this.#resolverWanted];
    this.#setEndpoints([...this.#endpoints.filter((e) => e.endpointId !== ep.endpointId), ep]);
    this.#decideDnsMode();
    const dnsChanged = this.#networkDns().join(' ') !== dnsBefore || !sameMode(this.#dnsMode, modeBefore);
    try {
      const listening = ep.resolution && !this.files.legacy ? this.#ensureResolver() : undefined;
      const files = (async () => {
        await addOwnRecords(this.files, this.#ownRecordsOf(ep));
        if (dnsChanged) await this.refreshResolvConf();
      })();
      // Both settle before the outcome is decided: an undo never races a write still in flight.
      const [a, b] = await Promise.allSettled([files, listening]);
      if (a.status === 'rejected') throw a.reason;
      if (b.status === 'rejected') throw b.reason;
    } catch (err) {
      const [dnsWith, modeWith] = [this.#networkDns().join(' '), this.#dnsMode];
      this.#setEndpoints(this.#endpoints.filter((e) => e.endpointId !== ep.endpointId));
      // Back to the kind before it, unless its listener did start (a resolver, once started, stays: R1).
      [this.#dnsMode, this.#resolverWanted] = [modeBefore, wantedBefore || this.#resolver !== undefined];
      this.#decideDnsMode();
      await removeOwnRecords(this.files, this.#ownRecordsOf(ep)).catch(() => undefined);
      // Its network's DNS servers (or the file kind it chose) went, or after a concurrent detach would go, into
      // resolv.conf and the upstreams: back to what they are without it.
      if (this.#networkDns().join(' ') !== dnsWith || !sameMode(this.#dnsMode, modeWith)) {
        await this.refreshResolvConf().catch((e: unknown) => this.#logger.warn({ err: e }, 'resolv.conf could not be rewritten after a failed join'));
      }
      throw err;
    }
  }

  /**
   * Detach an endpoint: its hosts lines first (H3), then its names leave the view (R15). A refused edit (a full disk,
   * no descriptor left) throws with the file and the view unchanged, so the caller can refuse the whole leave. Resolves
   * once the view has changed, with `refreshed`: the rewrite of resolv.conf that follows when the network's DNS
   * servers were the sandbox's, whose failure comes after the detach has happened. With `viewFirst` (restore's
   * cleanup of a join it drops anyway) the view changes first and a refused edit throws after.
   */
  async detach(endpointId: string, viewFirst = false): Promise<{ refreshed: Promise<void> }> {
    const ep = this.#endpoints.find((e) => e.endpointId === endpointId);
    if (ep === undefined) return { refreshed: Promise.resolve() };
    const dnsBefore = this.#networkDns().join(' ');
    const removed = () => this.#setEndpoints(this.#endpoints.filter((e) => e.endpointId !== endpointId));
    if (viewFirst) removed();
    await removeOwnRecords(this.files, this.#ownRecordsOf(ep));
    if (!viewFirst) removed();
    return { refreshed: this.#networkDns().join(' ') !== dnsBefore ? this.refreshResolvConf() : Promise.resolve() };
  }

  /** The resolv.conf kind for the endpoints joined now (see #dnsMode); with none joined, the kind stays. */
  #decideDnsMode(): void {
    if (this.#endpoints.length === 0) return;
    if (!this.files.legacy && this.#endpoints.some((e) => e.resolution)) this.#resolverWanted = true;
    const legacy = this.files.legacy || !this.#resolverWanted;
    // Only the legacy file depends on IPv6 (the resolver's names 127.0.0.11 alone): a dual-stack join rewrites nothing else.
    this.#dnsMode = { legacy, ipv6: legacy && this.#endpoints.some((e) => e.ipv6 !== undefined) };
  }

  /** The DNS servers of the first network (R4 order) that has any. */
  #networkDns(): readonly string[] {
    return this.#endpoints.find((e) => (e.networkDns?.length ?? 0) > 0)?.networkDns ?? [];
  }

  /** Whether the hosts file carries IPv6 lines (decided at init, and again when a late key arrives; as Docker). */
  get ipv6(): boolean {
    return this.#ipv6;
  }

  /** Restore (L3, as Docker): take the saved external servers (and IPv6 decision); the files are not rewritten. */
  async adopt(saved: { readonly extServers: readonly ExtServer[]; readonly ndotsSet: boolean; readonly ipv6?: boolean | undefined }): Promise<void> {
    this.#ipv6 = saved.ipv6 ?? (await this.#io.ipv6Enabled());
    this.#extServers = saved.extServers;
    this.#ndotsSet = saved.ndotsSet;
    this.#upstreams = saved.extServers.map((s) => ({ address: s.address, port: 53, origin: s.origin }));
  }

  /** Restore (L3): put a joined endpoint back in the view; files and listener untouched (see resume). */
  restoreEndpoint(ep: SandboxEndpoint): void {
    this.#setEndpoints([...this.#endpoints.filter((e) => e.endpointId !== ep.endpointId), ep]);
  }

  /** Restore (L3): re-acquire the listener when an endpoint wants the resolver (R1). */
  async resume(): Promise<void> {
    this.#decideDnsMode(); // the files are not rewritten (live restore); a later rewrite writes this kind
    if (!this.files.legacy && this.#endpoints.some((e) => e.resolution)) await this.#ensureResolver();
  }

  /**
   * A late key arrived (H1; Docker's SetKey does the same): the hosts file's IPv6 lines were assumed before the
   * namespace existed; when its `lo` says otherwise the file is built again for it (the joins that follow add their
   * endpoints' lines).
   */
  async keyed(): Promise<void> {
    const ipv6 = await this.#io.ipv6Enabled();
    if (ipv6 === this.#ipv6) return;
    this.#ipv6 = ipv6;
    try {
      await writeInitialHosts(this.files, ipv6);
      for (const ep of this.#endpoints) await addOwnRecords(this.files, this.#ownRecordsOf(ep));
    } catch (err) {
      // The key is taken all the same (the namespace is the container's): only the loopback lines are wrong.
      this.#logger.warn({ err, path: this.files.hostsPath }, 'the hosts file could not be rebuilt for the namespace\'s IPv6 setting');
    }
  }

  /** Stop the listener. Its sockets hold a reference to the namespace: they are closed so the namespace can go. */
  async close(): Promise<void> {
    await this.#resolverStarting?.catch(() => undefined);
    const r = this.#resolver;
    this.#resolver = undefined;
    await r?.close();
  }

  #ownRecordsOf(ep: SandboxEndpoint): HostsRecord[] {
    return ownRecords(this.files, ep.ipv4, ep.ipv6, this.#ipv6);
  }

  #setEndpoints(list: readonly SandboxEndpoint[]): void {
    const sorted = sortEndpoints(list);
    // Every endpoint's declaration of an alias, in R4 order: the first whose target answers wins (R3).
    const aliases = new Map<string, LinkAlias[]>();
    for (const e of sorted) {
      for (const [alias, target] of e.linkAliases) {
        const list = aliases.get(alias);
        if (list === undefined) aliases.set(alias, [{ target, network: e.networkName }]);
        else list.push({ target, network: e.networkName });
      }
    }
    // One synchronous swap: every resolver sees the new state at once (G11).
    this.#endpoints = sorted;
    this.#networks = sorted.map((e) => e.network);
    this.#linkAliases = aliases;
  }

  async #ensureResolver(): Promise<void> {
    if (this.#resolver !== undefined) return;
    this.#resolverStarting ??= this.#io.startResolver(this).then((r) => {
      this.#resolver = r;
    });
    try {
      await this.#resolverStarting;
    } finally {
      this.#resolverStarting = undefined;
    }
  }
}

function sameMode(a: { legacy: boolean; ipv6: boolean }, b: { legacy: boolean; ipv6: boolean }): boolean {
  return a.legacy === b.legacy && a.ipv6 === b.ipv6;
}
