/**
 * Firewall: the nft table of sandns kept equal to the model it is given
 * (networks, published endpoints), plus the host ports it holds. Every change
 * is one nft transaction, applied one at a time; a change that fails because
 * the table was altered behind our back is retried as a rebuild of the whole
 * table from the model. A change nft refuses outright (it cannot even be
 * spawned at the descriptor limit) leaves the model as the table is, except a
 * removal whose operation has happened anyway (a leave's unpublish, a failed
 * create's undo): the model keeps the removal and the table is rebuilt from
 * it later, until nft takes it.
 */
import { silentLogger, type Logger } from '../../common/log.js';
import { InvalidOptionError } from '../../common/errors.js';
import { NoFreePortError, PortAllocatedError } from './errors.js';
import { PortBook } from './ports.js';
import type { ConntrackFlow } from './io/conntrack.js';
import {
  DEFAULT_TABLE, planAddNetwork, planDeleteNetwork, planDropTable, planPublish, planRebuild, planUnpublish, type NftCommand,
} from './ruleset.js';
import { DEFAULT_PORT_RANGE, type FirewallEndpoint, type FirewallNetwork, type PortMapping, type PortRange, type PublishSpec } from './types.js';

/** An open port hold. */
export interface PortHoldLike {
  close(): Promise<void>;
}

/** The world the firewall acts on (G12): io/ by default, fakes in unit tests. */
export interface FirewallIo {
  apply(commands: readonly NftCommand[]): Promise<void>;
  enableForwarding(ipv6: boolean): Promise<boolean>;
  enableRouteLocalnet(bridge: string): Promise<void>;
  holdPort(hostIp: string | undefined, port: number, protocol: 'tcp' | 'udp'): Promise<PortHoldLike | 'in-use' | 'not-local' | 'other'>;
  /** Delete the conntrack entries of UDP flows to these host ports (io/conntrack.ts); absent: nothing to delete. */
  flushConntrack?(flows: readonly ConntrackFlow[]): Promise<void>;
}

/** Options of the firewall. */
export interface FirewallOptions {
  /** nft table name (family inet); default `sandns`. */
  readonly table?: string;
  /** Where ephemeral host ports come from; default 49153–65535. */
  readonly portRange?: PortRange;
  readonly logger?: Logger;
}

interface Reservation {
  readonly mappings: PortMapping[];
  readonly holds: PortHoldLike[];
}

/** First retry of a table rebuild after nft refused a removal, and the longest wait between retries (ms). */
const RESYNC_FIRST_MS = 500;
const RESYNC_MAX_MS = 30_000;

/** The firewall of one daemon (one per network namespace it runs in). */
export class Firewall {
  readonly table: string;
  readonly portRange: PortRange;
  readonly #io: FirewallIo;
  readonly #logger: Logger;
  readonly #networks = new Map<string, FirewallNetwork>();
  readonly #published = new Map<string, FirewallEndpoint>();
  readonly #reserved = new Map<string, Reservation>();
  readonly #book = new PortBook();
  #tableMade = false;
  #tail: Promise<unknown> = Promise.resolve();
  /** The kernel's table lags the model (a removal nft refused): the next change rebuilds, and a retry is scheduled. */
  #unsynced = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #resyncDelayMs = RESYNC_FIRST_MS;
  /** Conntrack deletions still running (#forgetFlows). */
  readonly #flushing = new Set<Promise<void>>();

  constructor(io: FirewallIo, options: FirewallOptions = {}) {
    this.#io = io;
    this.table = options.table ?? DEFAULT_TABLE;
    this.portRange = options.portRange ?? DEFAULT_PORT_RANGE;
    this.#logger = options.logger ?? silentLogger();
  }

  /** Run nft changes one after the other. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #rebuildPlan(): NftCommand[] {
    return planRebuild(this.table, [...this.#networks.values()], [...this.#published.values()]);
  }

  /**
   * Apply a change; on failure (table altered by someone else), rebuild everything from the model once. While the
   * table lags the model, the change is a rebuild.
   */
  async #change(commands: readonly NftCommand[]): Promise<void> {
    if (!this.#tableMade || this.#unsynced) {
      await this.#io.apply(this.#rebuildPlan());
      this.#tableMade = true;
      this.#synced();
      return;
    }
    try {
      await this.#io.apply(commands);
    } catch (err) {
      this.#logger.warn({ err, table: this.table }, 'nft change failed; rebuilding the table from the model');
      await this.#io.apply(this.#rebuildPlan());
    }
  }

  #synced(): void {
    this.#unsynced = false;
    this.#resyncDelayMs = RESYNC_FIRST_MS;
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
  }

  /**
   * A removal nft refused after the rest of its operation happened (a leave's veth is gone): the model keeps the
   * removal and the table is rebuilt from it later, first after RESYNC_FIRST_MS, then backing off to RESYNC_MAX_MS,
   * until nft takes it (or an earlier change rebuilds it). The timer does not keep the process alive.
   */
  #resyncLater(err: unknown): void {
    this.#unsynced = true;
    this.#logger.warn({ err, table: this.table, retryMs: this.#resyncDelayMs }, 'nft refused a removal; the table is rebuilt from the model later');
    if (this.#resyncTimer !== undefined) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      void this.#serial(async () => {
        if (!this.#unsynced) return;
        if (this.#networks.size === 0) await this.#io.apply(planDropTable(this.table));
        else await this.#io.apply(this.#rebuildPlan());
        this.#tableMade = this.#networks.size > 0;
        this.#synced();
        this.#logger.info({ table: this.table }, 'nft table rebuilt from the model');
      }).catch((e: unknown) => {
        this.#resyncDelayMs = Math.min(RESYNC_MAX_MS, this.#resyncDelayMs * 2);
        this.#resyncLater(e);
      });
    }, this.#resyncDelayMs);
    this.#resyncTimer.unref();
  }

  /** Add a network: its set elements; forwarding and route_localnet for a non-internal one. */
  async addNetwork(net: FirewallNetwork): Promise<void> {
    await this.#serial(async () => {
      this.#networks.set(net.id, net);
      try {
        await this.#change(planAddNetwork(this.table, net));
      } catch (err) {
        this.#networks.delete(net.id);
        throw err;
      }
    });
    if (net.internal) return;
    if (await this.#io.enableForwarding(net.subnet6 !== undefined)) this.#logger.info({ ipv6: net.subnet6 !== undefined }, 'forwarding turned on (it stays on, as Docker)');
    await this.#io.enableRouteLocalnet(net.bridge);
  }

  /**
   * Remove a network's elements (and the table with the last network). Idempotent. A change nft refuses (each apply
   * is one transaction: nothing of it happened) puts the network back in the model and throws, so a retry removes
   * the elements still in the kernel instead of finding nothing to do. With `forget` (the undo of a create: the
   * bridge goes whatever happens) the model drops it anyway and the table is rebuilt later (#resyncLater).
   */
  async removeNetwork(id: string, forget = false): Promise<void> {
    await this.#serial(async () => {
      const net = this.#networks.get(id);
      if (net === undefined) return;
      const published = [...this.#published].filter(([, ep]) => ep.networkId === id);
      this.#networks.delete(id);
      for (const [epId] of published) this.#published.delete(epId);
      try {
        if (this.#networks.size === 0) {
          await this.#io.apply(planDropTable(this.table));
          this.#tableMade = false;
          this.#synced();
          return;
        }
        await this.#change(planDeleteNetwork(this.table, net));
      } catch (err) {
        if (forget) return this.#resyncLater(err);
        this.#networks.set(id, net);
        for (const [epId, ep] of published) this.#published.set(epId, ep);
        throw err;
      }
    });
  }

  /**
   * Reserve host ports for an endpoint's published ports, before anything else changes: each is claimed in the
   * book (synchronously: concurrent reservations never collide) and bound (another process's socket → 409).
   * Throws ERR_PORT_ALLOCATED, ERR_PORT_NO_FREE or ERR_INVALID_OPTION (a host address that is not the host's);
   * nothing stays reserved when it throws.
   */
  async reserve(endpointId: string, specs: readonly PublishSpec[]): Promise<PortMapping[]> {
    const got: Reservation = { mappings: [], holds: [] };
    try {
      for (const spec of specs) await this.#reserveOne(endpointId, spec, got);
    } catch (err) {
      await this.#drop(endpointId, got);
      throw err;
    }
    if (got.mappings.length > 0) this.#reserved.set(endpointId, got);
    return got.mappings;
  }

  async #reserveOne(owner: string, spec: PublishSpec, got: Reservation): Promise<void> {
    const fixed = spec.hostPort !== undefined && spec.hostPortEnd === undefined;
    const range = spec.hostPort === undefined ? this.portRange : { first: spec.hostPort, last: spec.hostPortEnd ?? spec.hostPort };
    const candidates = spec.hostPort === undefined ? this.#book.candidates(range, spec.protocol) : rangeOf(range);
    for (const port of candidates) {
      if (!this.#book.claim(owner, spec.hostIp, port, spec.protocol)) {
        const holder = this.#book.holder(spec.hostIp, port, spec.protocol)!;
        if (fixed) throw new PortAllocatedError(spec.hostIp, port, spec.protocol, `published by endpoint ${holder.slice(0, 12)}`, holder);
        continue;
      }
      let hold: Awaited<ReturnType<FirewallIo['holdPort']>>;
      try {
        hold = await this.#io.holdPort(spec.hostIp, port, spec.protocol);
      } catch (err) {
        this.#book.release(owner, spec.hostIp, port, spec.protocol); // out of descriptors: the port was never ours
        throw err;
      }
      if (typeof hold !== 'string') {
        got.holds.push(hold);
        got.mappings.push({ ...(spec.hostIp === undefined ? {} : { hostIp: spec.hostIp }), hostPort: port, containerPort: spec.containerPort, protocol: spec.protocol });
        return;
      }
      this.#book.release(owner, spec.hostIp, port, spec.protocol);
      if (hold === 'not-local') throw new InvalidOptionError('publish', `hostIp ${spec.hostIp ?? ''} is not an address of this host`);
      if (fixed || hold === 'other') throw new PortAllocatedError(spec.hostIp, port, spec.protocol, hold === 'in-use' ? 'another process listens on it' : 'it cannot be bound');
    }
    throw new NoFreePortError(range.first, range.last, spec.protocol);
  }

  async #drop(owner: string, r: Reservation): Promise<void> {
    for (const m of r.mappings) this.#book.release(owner, m.hostIp, m.hostPort, m.protocol);
    await Promise.all(r.holds.map((h) => h.close().catch(() => undefined)));
  }

  /** Give back an endpoint's host ports (after unpublish). Idempotent. */
  async release(endpointId: string): Promise<void> {
    const r = this.#reserved.get(endpointId);
    if (r === undefined) return;
    this.#reserved.delete(endpointId);
    await this.#drop(endpointId, r);
  }

  /** The host ports reserved for an endpoint. */
  mappings(endpointId: string): readonly PortMapping[] {
    return this.#reserved.get(endpointId)?.mappings ?? [];
  }

  /** Write an endpoint's published ports into the maps (join); UDP flows to them that predate it are forgotten. */
  async publish(ep: FirewallEndpoint): Promise<void> {
    if (ep.mappings.length === 0) return;
    await this.#serial(async () => {
      this.#published.set(ep.endpointId, ep);
      try {
        await this.#change(planPublish(this.table, ep));
      } catch (err) {
        this.#published.delete(ep.endpointId);
        throw err;
      }
    });
    this.#forgetFlows(ep);
  }

  /**
   * Best effort, after a publish or an unpublish, off the answer's path (a published range is one conntrack run per
   * port): the conntrack entries of UDP flows to the endpoint's host ports go, else a client that keeps sending from
   * one source port keeps its old NAT decision (io/conntrack.ts). close() waits for the runs still going.
   */
  #forgetFlows(ep: FirewallEndpoint): void {
    const run = this.#flushFlows(ep);
    this.#flushing.add(run);
    void run.finally(() => this.#flushing.delete(run));
  }

  async #flushFlows(ep: FirewallEndpoint): Promise<void> {
    const flows = ep.mappings.filter((m) => m.protocol === 'udp').flatMap((m) => {
      const families: (4 | 6)[] = m.hostIp === undefined ? [4, ...(ep.ipv6 === undefined ? [] : [6 as const])] : [m.hostIp.includes(':') ? 6 : 4];
      return families.map((family) => ({ family, port: m.hostPort }));
    });
    if (flows.length === 0 || this.#io.flushConntrack === undefined) return;
    await this.#io.flushConntrack(flows).catch((err: unknown) => this.#logger.warn({ err, endpoint: ep.endpointId }, 'UDP flows to published ports not forgotten: they keep their old target until conntrack drops them'));
  }

  /**
   * Take an endpoint's published ports out of the maps (leave). Idempotent. Never throws: the leave it belongs to has
   * happened (or is happening), so a change nft refuses is retried as a rebuild later (#resyncLater).
   */
  async unpublish(endpointId: string): Promise<void> {
    const gone = await this.#serial(async () => {
      const ep = this.#published.get(endpointId);
      if (ep === undefined) return undefined;
      this.#published.delete(endpointId);
      await this.#change(planUnpublish(this.table, ep)).catch((err: unknown) => this.#resyncLater(err));
      return ep;
    });
    if (gone !== undefined) this.#forgetFlows(gone);
  }

  /**
   * Restore (L3): take the model as saved — networks, every endpoint's reserved ports, the joined ones' published
   * ports — hold the ports again and rebuild the table in one transaction (stale elements of vanished objects go).
   */
  async restore(networks: readonly FirewallNetwork[], reserved: ReadonlyMap<string, readonly PortMapping[]>, published: readonly FirewallEndpoint[]): Promise<void> {
    for (const [owner, mappings] of reserved) {
      const got: Reservation = { mappings: [], holds: [] };
      for (const m of mappings) {
        if (!this.#book.claim(owner, m.hostIp, m.hostPort, m.protocol)) this.#logger.warn({ endpoint: owner, port: m.hostPort }, 'restored port clashes with another endpoint');
        got.mappings.push(m);
        // A hold that throws (out of descriptors) is a port not held, as any other failure here: restore goes on.
        const hold = await this.#io.holdPort(m.hostIp, m.hostPort, m.protocol).catch((err: unknown) => String((err as { code?: unknown }).code ?? err));
        if (typeof hold === 'string') this.#logger.warn({ endpoint: owner, hostIp: m.hostIp, port: m.hostPort, why: hold }, 'published port could not be held again');
        else got.holds.push(hold);
      }
      this.#reserved.set(owner, got);
    }
    await this.#serial(async () => {
      for (const n of networks) this.#networks.set(n.id, n);
      for (const ep of published) if (ep.mappings.length > 0) this.#published.set(ep.endpointId, ep);
      if (this.#networks.size === 0) {
        await this.#io.apply(planDropTable(this.table));
        return;
      }
      await this.#io.apply(this.#rebuildPlan());
      this.#tableMade = true;
    });
    for (const n of networks) {
      if (n.internal) continue;
      await this.#io.enableForwarding(n.subnet6 !== undefined);
      await this.#io.enableRouteLocalnet(n.bridge).catch((err: unknown) => this.#logger.warn({ err, bridge: n.bridge }, 'route_localnet not set'));
    }
  }

  /** Close every hold (daemon shutdown; rules stay for the next daemon). */
  async close(): Promise<void> {
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await Promise.all(this.#flushing);
    await Promise.all([...this.#reserved.values()].flatMap((r) => r.holds.map((h) => h.close().catch(() => undefined))));
  }
}

function* rangeOf(range: PortRange): Generator<number> {
  for (let p = range.first; p <= range.last; p++) yield p;
}
