/**
 * The cluster store contract the controller uses (G2: declared here, where its
 * consumer can import it without reaching into io/).
 */
import type { MirrorChange } from './mirror.js';
import type { AddressClaim, MemberInfo, NetworkSpec, RemoteRecord } from './keys.js';
import type { SyncPhase } from './sync.js';

/** A claim of this host lost to another while it was away (M7). */
export interface LostClaim {
  readonly network: string;
  readonly endpoint: string;
  readonly address: string;
  /** Member now holding the address, 'unknown', or 'none' when the network itself was deleted. */
  readonly holder: string;
  /** The network was deleted in the cluster while this host could not reach it (its claims had expired). */
  readonly networkDeleted?: boolean;
}

/** Who listens to the store (the controller). */
export interface ClusterListener {
  /** Mirror changes (remote records, networks, claims), to apply in one synchronous step. */
  changes(changes: readonly MirrorChange[]): void;
  /** A claim of a local endpoint is held by someone else now: disconnect that endpoint. */
  lost(claim: LostClaim): void;
  /** The id of the global network of that name this host's endpoints are on (undefined: none known here). */
  networkId?(name: string): string | undefined;
}

/** `sandns status` / GET /cluster. */
export interface ClusterStatus {
  readonly store: string;
  readonly prefix: string;
  readonly member: string;
  readonly advertise: string;
  readonly lease: { readonly id: string | undefined; readonly ttl: number };
  readonly sync: SyncPhase;
  readonly lagMs: number | undefined;
  readonly revision: number;
  readonly lastError?: string | undefined;
  readonly members: readonly MemberInfo[];
  readonly networks: number;
  readonly remoteRecords: number;
  readonly ownedKeys: number;
  readonly watchReconnects: number;
  readonly relists: number;
  readonly writes: number;
  /** Longest event-loop stall of this daemon so far, ms. */
  readonly eventLoopDelayMaxMs: number;
}

/** The cluster store. */
export interface ClusterStore {
  /** This host's member id (changes when it comes back after its lease expired). */
  readonly member: string;
  readonly advertise: string;
  setListener(listener: ClusterListener): void;
  /** Connect (bounded wait): never throws for an unreachable etcd, it retries in the background. */
  start(): Promise<void>;
  /** Stop the watch, the probe and the keep-alive; the lease is left to expire (a restart inside it takes over). */
  close(): Promise<void>;
  /** True when global operations can go to etcd now. */
  available(): boolean;
  /** Throw ERR_CLUSTER_UNAVAILABLE (503) unless available. */
  assertAvailable(operation: string): void;
  /** Every global network the mirror knows. */
  networks(): NetworkSpec[];
  /** Members of the cluster in the mirror (each with its advertise address: the overlay's VTEP). */
  members(): MemberInfo[];
  /** Records of a global network in the mirror (every member's). */
  recordsOf(network: string): RemoteRecord[];
  /** Address claims of a global network in the mirror. */
  claimsOf(network: string): [address: string, claim: AddressClaim][];
  /** Create a global network; `build` gets the cluster's networks and throws for overlap/exists. */
  createNetwork(build: (existing: readonly NetworkSpec[]) => NetworkSpec): Promise<NetworkSpec>;
  /**
   * Delete a global network and its leftover claims; refused (nothing deleted, `inUse` > 0: how many address claims
   * and records other members hold) while another host has endpoints on it, even ones not joined yet. Throws
   * ERR_CLUSTER_UNAVAILABLE, ERR_CLUSTER_CONFLICT.
   */
  deleteNetwork(name: string): Promise<{ inUse: number }>;
  /** Compare-and-set claim of one address; false when someone holds it. */
  claimAddress(network: string, address: string, endpoint: string): Promise<boolean>;
  /** Release (best effort while unreachable: reconciled later). */
  releaseAddress(network: string, address: string): Promise<void>;
  /** Take an address over without a write (restore: reconciled at connect). */
  adoptAddress(network: string, address: string, endpoint: string): void;
  /** Publish a local endpoint's record under the lease. */
  publish(network: string, record: Omit<RemoteRecord, 'member'>, options?: { adoptOnly?: boolean }): Promise<void>;
  /** Withdraw it (best effort while unreachable). */
  unpublish(network: string, endpoint: string): Promise<void>;
  status(): ClusterStatus;
  /** Prometheus text of the cluster gauges and counters. */
  metrics(): string;
}
