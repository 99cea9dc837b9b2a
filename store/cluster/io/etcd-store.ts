/**
 * The etcd cluster store (docs/cluster.md M1–M8): one lease per member (kept
 * alive by etcd3), a mirror of the prefix kept by a watch, a probe that marks
 * the store stale when etcd stops answering, and a reconnect that re-lists
 * (so a watch gap or compaction never loses an event) and reconciles what this
 * member owns.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Etcd3, Watcher, IWatchResponse } from 'etcd3';
import { systemClock, type Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/log.js';
import { ClusterConflictError, ClusterUnavailableError } from '../errors.js';
import { KeySpace, type AddressClaim, type MemberInfo, type NetworkSpec, type RemoteRecord } from '../keys.js';
import { Mirror, type MirrorChange } from '../mirror.js';
import type { ClusterOptions } from '../options.js';
import { OwnedKeys, type OwnedEntry } from '../own.js';
import type { ClusterListener, ClusterStatus, ClusterStore } from '../store.js';
import { SyncState } from '../sync.js';
import { renderClusterMetrics } from '../metrics.js';
import { createEtcdClient, DeadlineError, withDeadline } from './etcd-calls.js';
import * as ops from './etcd-ops.js';
import { readMemberFile, readTlsFiles, writeMemberFile } from './member-file.js';
import { reconcile } from './reconcile.js';
import { startKeepAlive, type KeepAlive, type KeepAliveEvent } from './keepalive.js';

/** Dependencies of the store (G12). */
export interface EtcdStoreDeps {
  readonly logger: Logger;
  /** `<stateDir>/cluster.json`; without it every start is a new member. */
  readonly memberFile?: string | undefined;
  readonly clock?: Clock;
}

const newMember = (): string => randomBytes(8).toString('hex');
const noListener: ClusterListener = { changes: () => undefined, lost: () => undefined };

/** ClusterStore over etcd v3. */
export class EtcdClusterStore implements ClusterStore {
  readonly advertise: string;
  readonly mirror: Mirror;
  readonly #opts: Readonly<ClusterOptions>;
  readonly #log: Logger;
  readonly #memberFile: string | undefined;
  readonly #keys: KeySpace;
  readonly #own: OwnedKeys;
  readonly #sync: SyncState;
  #client: Etcd3 | undefined;
  #listener: ClusterListener = noListener;
  #member = newMember();
  #lease: { handle: KeepAlive; id: string } | undefined;
  #credentials: Awaited<ReturnType<typeof readTlsFiles>> | undefined;
  /** A lease of a previous run of this member, revoked once everything is under the new one. */
  #formerLease: string | undefined;
  #formerMembers: string[] = [];
  #watcher: Watcher | undefined;
  #connecting: Promise<void> | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #probing = false;
  /** Event-loop delay of this daemon: a starved loop looks like a slow etcd (keep-alives, probes). */
  readonly #loop = monitorEventLoopDelay({ resolution: 20 });
  writes = 0;

  constructor(opts: Readonly<ClusterOptions>, deps: EtcdStoreDeps) {
    this.#opts = opts;
    this.advertise = opts.advertise;
    this.#log = deps.logger.child({ component: 'cluster' });
    this.#memberFile = deps.memberFile;
    this.#keys = new KeySpace(opts.prefix);
    this.mirror = new Mirror(this.#keys);
    this.#own = new OwnedKeys(this.#keys);
    this.#sync = new SyncState(deps.clock ?? systemClock);
  }

  get member(): string { return this.#member; }

  setListener(listener: ClusterListener): void {
    this.#listener = listener;
  }

  async start(): Promise<void> {
    const saved = this.#memberFile === undefined ? undefined : await readMemberFile(this.#memberFile);
    if (saved !== undefined) {
      this.#member = saved.member;
      this.#formerLease = saved.lease;
      // What the restore adopted before the member id was known is this member's (M5).
      this.#own.rename(this.#member);
    }
    this.#credentials = this.#opts.tls === undefined ? undefined : await readTlsFiles(this.#opts.tls);
    this.#client = createEtcdClient(this.#opts.endpoints, this.#credentials);
    this.#probeTimer = setInterval(() => void this.#probe(), this.#opts.probeIntervalMs);
    this.#probeTimer.unref();
    this.#loop.enable();
    // Bounded: an unreachable etcd leaves the daemon up and stale, retrying (M8).
    await Promise.race([this.#reconnect(), new Promise((r) => setTimeout(r, 3_000).unref())]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probeTimer);
    const w = this.#watcher;
    this.#watcher = undefined;
    await (w ? withDeadline(500, () => w.cancel()).catch(() => undefined) : undefined);
    await this.#lease?.handle.stop(); // the lease expires unless a restart takes it over (M5)
    this.#client?.close();
  }

  available(): boolean {
    return this.#sync.available && this.#lease !== undefined && !this.#closed;
  }

  assertAvailable(operation: string): void {
    if (!this.available()) throw new ClusterUnavailableError(operation);
  }

  networks(): NetworkSpec[] {
    return [...this.mirror.networks.values()];
  }

  members(): MemberInfo[] { return [...this.mirror.members.values()]; }
  recordsOf(network: string): RemoteRecord[] { return [...(this.mirror.records.get(network)?.values() ?? [])]; }
  claimsOf(network: string): [string, AddressClaim][] { return [...(this.mirror.claims.get(network) ?? [])]; }

  async createNetwork(build: (existing: readonly NetworkSpec[]) => NetworkSpec): Promise<NetworkSpec> {
    const s = this.#session('create a global network');
    for (let attempt = 0; attempt < 8; attempt++) {
      const r = await this.#call('create a global network', () => ops.tryCreateNetwork(s, build));
      this.writes++;
      if (r.ok) return r.spec;
    }
    throw new ClusterConflictError('network create');
  }

  async deleteNetwork(name: string): Promise<{ inUse: number }> {
    const s = this.#session('delete a global network');
    const r = await this.#call('delete a global network', () => ops.deleteNetwork(s, name));
    this.writes++;
    return r;
  }

  async claimAddress(network: string, address: string, endpoint: string): Promise<boolean> {
    this.assertAvailable('allocate an address of a global network');
    const entry = this.#own.claim(network, address, { member: this.#member, endpoint });
    const ok = await this.#writeOwned(entry, 'allocate an address of a global network', (s) => ops.claimKey(s, entry));
    if (!ok) this.#own.drop(entry.key);
    return ok;
  }

  /**
   * Write an owned entry; a failure takes it back. A write whose answer did not come in time may still have
   * committed: its key is released once it cannot be in flight any more, unless owned again by then.
   */
  async #writeOwned<T>(entry: OwnedEntry, operation: string, fn: (s: ops.Session) => Promise<T>): Promise<T> {
    let s: ops.Session | undefined;
    try {
      s = this.#session(operation);
      this.writes++;
      return await this.#call(operation, () => fn(s!));
    } catch (err) {
      this.#own.drop(entry.key);
      if (s !== undefined && err instanceof ClusterUnavailableError && err.cause instanceof DeadlineError) ops.releaseIfCommitted(s, entry, this.#opts.callTimeoutMs * 6, () => this.#own.get(entry.key) !== undefined);
      throw err;
    }
  }

  async releaseAddress(network: string, address: string): Promise<void> {
    const entry = this.#own.drop(this.#keys.address(network, address));
    if (entry === undefined || !this.available()) return; // reconciled at the next connect
    this.writes++;
    await ops.releaseKey(this.#session('release'), entry.key, entry.value).catch((err: unknown) => this.#failed(err));
  }

  adoptAddress(network: string, address: string, endpoint: string): void {
    this.#own.claim(network, address, { member: this.#member, endpoint });
  }

  async publish(network: string, record: Omit<RemoteRecord, 'member'>, options: { adoptOnly?: boolean } = {}): Promise<void> {
    const entry = this.#own.record(network, { ...record, member: this.#member });
    if (options.adoptOnly === true) return;
    await this.#writeOwned(entry, 'publish an endpoint of a global network', (s) => ops.putLeased(s, entry.key, entry.value));
  }

  async unpublish(network: string, endpoint: string): Promise<void> {
    const entry = this.#own.drop(this.#keys.record(network, this.#member, endpoint));
    if (entry === undefined || !this.available()) return;
    this.writes++;
    await ops.deleteKey(this.#session('unpublish'), entry.key).catch((err: unknown) => this.#failed(err));
  }

  status(): ClusterStatus {
    return {
      store: this.#opts.endpoints.join(','), prefix: this.#opts.prefix, member: this.#member, advertise: this.advertise,
      lease: { id: this.#lease?.id, ttl: this.#opts.leaseTtl },
      sync: this.#sync.phase, lagMs: this.#sync.lagMs(), revision: this.mirror.revision, lastError: this.#sync.lastError,
      members: [...this.mirror.members.values()], networks: this.mirror.networks.size,
      remoteRecords: this.mirror.remoteRecordCount(this.#member), ownedKeys: this.#own.entries().length,
      watchReconnects: this.#sync.watchReconnects, relists: this.#sync.relists, writes: this.writes,
      eventLoopDelayMaxMs: Math.round(this.#loop.max / 1e6),
    };
  }

  metrics(): string {
    return renderClusterMetrics(this.status());
  }

  #session(operation: string): ops.Session {
    this.assertAvailable(operation);
    return { client: this.#client!, keys: this.#keys, timeoutMs: this.#opts.callTimeoutMs, lease: this.#lease!.id, member: this.#member };
  }

  /** Run one etcd call; an etcd failure marks the store stale and becomes ERR_CLUSTER_UNAVAILABLE (503). */
  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_')) throw err; // ours (overlap, exists)
      // A slow answer under load fails this call only; an unreachable etcd makes the store stale (the probe confirms either way).
      if (!(err instanceof DeadlineError)) this.#failed(err);
      throw new ClusterUnavailableError(operation, err);
    }
  }

  #failed(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (this.#sync.fail(reason)) this.#log.warn({ reason }, 'cluster store unreachable: serving the local mirror (stale)');
  }

  async #probe(): Promise<void> {
    if (this.#closed || this.#connecting !== undefined || this.#probing) return;
    if (!this.available() || this.#watcher === undefined) return this.#reconnect();
    this.#probing = true;
    try {
      const r = await withDeadline(this.#opts.probeTimeoutMs, (o) => this.#client!.get(this.#keys.member(this.#member)).options(o).exec());
      // The member key lives under this member's lease: gone means the lease expired unnoticed (a keep-alive stream
      // stuck on one etcd member answers nothing and fails nothing): stale, and the reconnect takes the M7 path.
      if (r.kvs.length === 0) return this.#failed(new Error(`the lease of member ${this.#member} expired: its key is gone`));
      this.#sync.confirm();
    } catch (err) {
      if (!(err instanceof DeadlineError)) return this.#failed(err);
      if (this.#sync.miss(err.message, 3)) this.#log.warn({ reason: err.message }, 'cluster store not answering: serving the local mirror (stale)');
    } finally {
      this.#probing = false;
    }
  }

  /** Lease, full list, watch, reconcile; one at a time. */
  #reconnect(): Promise<void> {
    this.#connecting ??= this.#connectOnce().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connectOnce(): Promise<void> {
    try {
      await this.#ensureLease();
      await this.#relist();
      const lost = await reconcile({
        session: this.#session0(), own: this.#own, mirror: this.mirror, formerMembers: this.#formerMembers, logger: this.#log,
        hostname: hostname(), advertise: this.advertise, countWrite: () => this.writes++, networkId: (n) => this.#listener.networkId?.(n),
      });
      for (const l of lost) this.#listener.lost(l);
      if (this.#formerLease !== undefined && this.#formerLease !== this.#lease?.id) {
        const former = this.#formerLease;
        await withDeadline(this.#opts.callTimeoutMs, (o) => this.#client!.leaseClient.leaseRevoke({ ID: former }, o)).catch(() => undefined);
        this.#formerLease = undefined;
      }
      this.#formerMembers = [];
      this.#sync.confirm();
      this.#log.info({ member: this.#member, lease: this.#lease?.id, revision: this.mirror.revision }, 'cluster store synced');
    } catch (err) {
      this.#failed(err);
    }
  }

  #session0(): ops.Session {
    return { client: this.#client!, keys: this.#keys, timeoutMs: this.#opts.callTimeoutMs * 2, lease: this.#lease!.id, member: this.#member };
  }

  /** Keep the current lease if etcd still has it; else take over a former one's member id if alive, else become a new member (M5, M7). */
  async #ensureLease(): Promise<void> {
    const ttlOf = async (id: string): Promise<number> => {
      const r = await withDeadline(this.#opts.callTimeoutMs, (o) => this.#client!.leaseClient.leaseTimeToLive({ ID: id }, o));
      return Number(r.TTL);
    };
    if (this.#lease !== undefined && (await ttlOf(this.#lease.id)) > 0) return;
    const expired = this.#lease ?? (this.#formerLease !== undefined && (await ttlOf(this.#formerLease)) <= 0 ? { id: this.#formerLease } : undefined);
    if (expired !== undefined) {
      this.#log.warn({ member: this.#member, lease: expired.id }, 'lease expired while away: rejoining as a new member');
      this.#formerMembers.push(this.#member);
      this.#member = newMember();
      this.#own.rename(this.#member);
      this.#formerLease = undefined;
      await this.#lease?.handle.stop();
      this.#lease = undefined;
    }
    const granted = await withDeadline(this.#opts.callTimeoutMs, (o) => this.#client!.leaseClient.leaseGrant({ TTL: this.#opts.leaseTtl }, o));
    const id = String(granted.ID);
    const handle = startKeepAlive(this.#client!, {
      endpoints: this.#opts.endpoints, lease: id, ttl: this.#opts.leaseTtl, credentials: this.#credentials,
    }, (e) => this.#onKeepAlive(id, e));
    this.#lease = { handle, id };
    if (this.#memberFile !== undefined) await writeMemberFile(this.#memberFile, { member: this.#member, lease: id });
  }

  #onKeepAlive(id: string, e: KeepAliveEvent): void {
    if (this.#lease?.id !== id) return;
    if (e.kind === 'lost') {
      this.#failed(new Error(`lease ${id} expired`));
      this.#log.warn({ lease: id }, 'lease lost');
    } else if (e.kind === 'failed') {
      this.#sync.miss(e.reason, 3);
    } else if (this.#watcher !== undefined && this.#sync.phase === 'stale' && this.#sync.lastError?.startsWith('etcd did not answer') === true) {
      // The leader renewed the lease (from the worker's loop): etcd answers; the miss was this loop's.
      this.#sync.confirm();
    }
  }

  /** Full list, then a watch from the next revision: nothing between is lost (M6). */
  async #relist(): Promise<void> {
    const res = await withDeadline(this.#opts.callTimeoutMs * 4, (o) => this.#client!.getAll().prefix(this.#keys.prefix).options(o).exec());
    const revision = Number(res.header.revision);
    const changes = this.mirror.load(res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() })), revision);
    this.#sync.relists++;
    this.#emit(changes);
    const old = this.#watcher;
    if (old !== undefined) void withDeadline(500, () => old.cancel()).catch(() => undefined);
    const w = this.#client!.watch().prefix(this.#keys.prefix).startRevision(String(revision + 1)).watcher();
    this.#watcher = w;
    let lostOnce = false;
    // Only the current watcher's events after the listing count (a replaced one may resume and replay, M6).
    w.on('data', (r: IWatchResponse) => void (this.#watcher === w && this.#onWatch(r, revision)));
    w.on('disconnected', (err: Error) => {
      lostOnce = true;
      this.#failed(err);
    });
    w.on('connected', () => {
      if (lostOnce) this.#sync.watchReconnects++;
    });
    w.on('error', (err: Error) => {
      // Cancelled by etcd (e.g. its start revision was compacted): re-list at the next probe.
      if (this.#watcher === w) this.#watcher = undefined;
      this.#failed(err);
    });
  }

  #onWatch(res: IWatchResponse, listed: number): void {
    const changes = this.mirror.applyAll(res.events.filter((ev) => Number(ev.kv.mod_revision) > listed).map((ev) => ({ type: ev.type === 'Put' ? 'put' : 'delete', key: ev.kv.key.toString(), value: ev.kv.value?.toString(), revision: Number(ev.kv.mod_revision) })));
    if (res.header?.revision !== undefined && Number(res.header.revision) > this.mirror.revision) this.mirror.revision = Number(res.header.revision);
    this.#emit(changes);
  }

  #emit(changes: readonly MirrorChange[]): void {
    const bad = changes.filter((c) => c.kind === 'malformed');
    if (bad.length > 0) this.#log.warn({ keys: bad.map((c) => (c as { key: string }).key).slice(0, 10) }, 'malformed values in the cluster store skipped');
    // Never a throw into the etcd client's handler (it rethrows it, and the process ends): the listener skips what
    // it cannot apply itself, so this is a bug of ours, logged as one.
    try {
      if (changes.length > 0) this.#listener.changes(changes);
    } catch (err) {
      this.#log.error({ err }, 'applying cluster store changes failed');
    }
  }
}
