/**
 * Sandbox entity (L1): one container's namespace, as the controller tracks it.
 * The DNS side (files, listener, resolver view) is sandbox/'s SandboxRuntime.
 */
import { originLoader, type OpenedSandbox, type OriginLoader, type SandboxEndpoint } from '../sandbox/index.js';
import type { ExtServer } from '../resolvconf/index.js';
import type { ResolverMetrics, ResolverView } from '../resolver/index.js';
import type { Endpoint } from './endpoint.js';
import { summarizeEndpoint, type EndpointSummary } from './network.js';
import type { ControllerCore, LinkState } from './core.js';
import { IfnameInUseError } from './errors.js';
import type { ExtraHost } from './options.js';
import type { Logger } from '../common/log.js';

/** The sandbox's configuration as given (normalised). */
export interface SandboxConfig {
  readonly id: string;
  /** Absent when the name makes no valid host label and none was given (see defaultHostname). */
  readonly hostname?: string | undefined;
  readonly domainname?: string | undefined;
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  readonly dnsOptions: readonly string[];
  readonly extraHosts: readonly ExtraHost[];
  readonly disableResolution: boolean;
  readonly netnsName?: string | undefined;
  readonly externalKey?: string | undefined;
  readonly hostsPath: string;
  readonly resolvConfPath: string;
}

/** Public description of a sandbox (inspect / list). */
export interface SandboxInfo {
  id: string;
  hostname?: string;
  domainname?: string;
  netnsPath: string;
  /** How the sandbox got its namespace: `owned`, `path` (given at create) or `late` (OCI hook). */
  keyMode: KeyMode;
  hostsPath: string;
  resolvConfPath: string;
  listening: boolean;
  /** Created with resolution disabled (no listener ever, the legacy resolv.conf: C3). */
  disableResolution: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: ExtraHost[];
  extServers: { address: string; origin: string }[];
  endpoints: (EndpointSummary & { network: string; aliases: string[]; mac?: string })[];
}

/**
 * How a sandbox got its namespace (its "key", libnetwork's SetKey): `owned`
 * (sandns made it and deletes it), `path` (an existing namespace given at
 * create; never deleted), `late` (given later by the OCI hook; never deleted).
 */
export type KeyMode = 'owned' | 'path' | 'late';

/** A sandbox: the model's record of one container's namespace, and the door to its DNS side. */
export class Sandbox {
  readonly config: SandboxConfig;
  /** Joined (or claimed) endpoints by id. */
  readonly endpoints = new Map<string, Endpoint>();
  /** Interface names taken or being set up (eth0, eth1 ...). */
  readonly ifnames = new Set<string>();
  /** Set while the sandbox is being deleted: joins are refused (404) from then on (L5). */
  deleting = false;
  /** Leaves of its endpoints in progress (Endpoint.leaving): its delete waits for them before the namespace goes. */
  readonly leaves = new Set<Promise<unknown>>();
  /** Gives back its managed paths and namespace name once it is gone (set by the controller). */
  releaseClaims: (() => void) | undefined;
  readonly #opened: OpenedSandbox;
  readonly #core: ControllerCore;

  constructor(core: ControllerCore, config: SandboxConfig, opened: OpenedSandbox) {
    this.#core = core;
    this.config = config;
    this.#opened = opened;
  }

  /** The container id. */
  get id(): string {
    return this.config.id;
  }
  get hostname(): string | undefined {
    return this.config.hostname;
  }
  /** The namespace path; '' while a `late` sandbox waits for its key. */
  get netnsPath(): string {
    return this.#opened.netnsPath;
  }
  /** How the sandbox got its namespace. */
  get keyMode(): KeyMode {
    if (this.#opened.ownsNetns) return 'owned';
    return this.config.externalKey !== undefined ? 'path' : 'late';
  }
  /** What the resolver reads per query (R15): networks, link aliases, upstreams. */
  get view(): ResolverView {
    return this.#opened.runtime;
  }
  /** The resolver's counters (R16), once the listener is serving. */
  get metrics(): ResolverMetrics | undefined {
    return this.#opened.runtime.metrics;
  }
  /** True once the 127.0.0.11 listener is serving. */
  get listening(): boolean {
    return this.#opened.runtime.listening;
  }
  /** The DNS side's state the store saves: external servers, ndots, IPv6 in the hosts file, runtime paths. */
  get dnsState(): {
    readonly extServers: readonly ExtServer[]; readonly ndotsSet: boolean; readonly ipv6: boolean; readonly resolvConfHashPath: string; readonly ownedDirs: readonly string[];
    readonly originals: Readonly<Record<string, string>> | undefined;
  } {
    const rt = this.#opened.runtime;
    return { extServers: rt.extServers, ndotsSet: rt.ndotsSet, ipv6: rt.ipv6, resolvConfHashPath: rt.files.resolvConfHashPath, ownedDirs: rt.files.ownedDirs, originals: rt.files.originals };
  }
  /** Joined endpoints' ids in R4 order (priority, then non-internal, then name). */
  get endpointOrder(): readonly string[] {
    return this.#opened.runtime.endpoints.map((e) => e.endpointId);
  }

  /** Add an endpoint's network to the view, its lines to the hosts file; start the listener on the first (R1, R15, H3). */
  attachDns(ep: SandboxEndpoint): Promise<void> {
    return this.#opened.runtime.attach(ep);
  }
  /** Drop an endpoint's lines from the hosts file, then from the view (H3, R15); see SandboxRuntime.detach. */
  detachDns(endpointId: string, viewFirst = false): Promise<{ refreshed: Promise<void> }> {
    return this.#opened.runtime.detach(endpointId, viewFirst);
  }
  /** Put a restored endpoint back in the view without touching the files (L3). */
  restoreDns(ep: SandboxEndpoint): void {
    this.#opened.runtime.restoreEndpoint(ep);
  }
  /** Start the listener of a restored sandbox that has endpoints (L3). */
  resume(): Promise<void> {
    return this.#opened.runtime.resume();
  }
  /** Re-read the origin resolv.conf: new upstreams live, the file rewritten unless user-modified (C4, C5). */
  refreshResolvConf(load?: OriginLoader): Promise<void> {
    return this.#opened.runtime.refreshResolvConf(load);
  }
  /** Stop the listener; the namespace and files stay (daemon shutdown). */
  stopListener(): Promise<void> {
    return this.#opened.runtime.close();
  }
  /** Stop the listener, delete an owned namespace and the managed files. */
  destroy(): Promise<void> {
    return this.#opened.destroy();
  }
  /**
   * Give a `late` sandbox its namespace (checked, `lo` brought up); throws ERR_SANDBOX_NETNS when it is not one,
   * ERR_SANDBOX_NETNS_IN_USE when it is another sandbox's.
   */
  async setKey(netnsPath: string): Promise<void> {
    this.#core.claimNetns(this.id, netnsPath);
    try {
      await this.#opened.setKey(netnsPath);
    } catch (err) {
      this.#core.releaseNetns(this.id);
      throw err;
    }
  }
  /**
   * Back to waiting for a key: stop the listener and forget the namespace (never deleted here), and with it the
   * interface names reserved there (a link a failed leave could not delete is the forgotten namespace's, not the next key's).
   */
  async clearKey(): Promise<void> {
    await this.#opened.clearKey();
    this.#core.releaseNetns(this.id);
    for (const ep of this.endpoints.values()) if (ep.joinInfo !== undefined) return; // still joined there: keep them
    this.ifnames.clear();
  }

  /** `requested` if given and free, else the lowest free eth<N>; reserved synchronously (G11). Throws ERR_SANDBOX_IFNAME_IN_USE. */
  reserveIfname(requested?: string): string {
    if (requested !== undefined) {
      if (this.ifnames.has(requested)) throw new IfnameInUseError(this.id, requested);
      this.ifnames.add(requested);
      return requested;
    }
    for (let i = 0; ; i++) {
      const n = `eth${i}`;
      if (!this.ifnames.has(n)) {
        this.ifnames.add(n);
        return n;
      }
    }
  }

  /** Each joined endpoint's link problems, as its driver sees them (CNI CHECK). */
  linkProblems(): Promise<LinkState[]> {
    return this.#core.linkProblems(this);
  }

  /** Leave every network and delete the sandbox (namespace too, unless its key mode is `path` or `late`). */
  delete(): Promise<void> {
    return this.#core.deleteSandbox(this);
  }

  /** A JSON-friendly description. */
  info(): SandboxInfo {
    const c = this.config;
    return {
      id: c.id,
      ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
      ...(c.domainname ? { domainname: c.domainname } : {}),
      netnsPath: this.netnsPath,
      keyMode: this.keyMode,
      hostsPath: c.hostsPath,
      resolvConfPath: c.resolvConfPath,
      listening: this.listening,
      disableResolution: c.disableResolution,
      dns: [...c.dns],
      dnsSearch: [...c.dnsSearch],
      dnsOptions: [...c.dnsOptions],
      extraHosts: [...c.extraHosts],
      extServers: this.#opened.runtime.extServers.map((s) => ({ address: s.address, origin: s.origin })),
      // Joined endpoints in R4 order, then those only claimed (a late key's, waiting for it: no interface yet).
      endpoints: [...this.endpointOrder, ...[...this.endpoints.keys()].filter((id) => !this.endpointOrder.includes(id))].flatMap((id) => {
        const e = this.endpoints.get(id);
        return e === undefined ? [] : [{ ...summarizeEndpoint(e), network: e.network.name, ...(e.joinInfo?.mac ? { mac: e.joinInfo.mac } : {}) }];
      }),
    };
  }
}

/** Sandboxes whose resolv.conf a refresh of the origin checks at once. */
const REFRESH_PARALLEL = 16;

/**
 * Re-read the origin for every sandbox (C5): the origin is read once for all; the sandboxes' own files (a read of
 * each and its digest, a write only when the content changes) go REFRESH_PARALLEL at a time, leaving the I/O
 * threads to the API's operations too. A sandbox that fails is logged and skipped.
 */
export async function refreshResolvConfs(sandboxes: readonly Sandbox[], logger: Logger): Promise<void> {
  const load = originLoader();
  const queue = [...sandboxes];
  const worker = async (): Promise<void> => {
    for (let sb = queue.pop(); sb !== undefined; sb = queue.pop()) {
      const id = sb.id;
      await sb.refreshResolvConf(load).catch((err: unknown) => logger.warn({ err, sandbox: id }, 'resolv.conf refresh failed'));
    }
  };
  await Promise.all(Array.from({ length: REFRESH_PARALLEL }, worker));
}
