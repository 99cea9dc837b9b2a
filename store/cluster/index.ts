/**
 * Cluster store public door (issue 15): global networks, cluster-wide IPAM and
 * endpoint records on etcd, with a watched local mirror.
 */
import type { Logger } from '../../common/log.js';
import type { ClusterOptions } from './options.js';
import type { ClusterStore } from './store.js';
import { EtcdClusterStore } from './io/etcd-store.js';

export { normalizeClusterOptions, parseClusterStore, CLUSTER_DEFAULTS, type ClusterOptions, type RawClusterOptions } from './options.js';
export { ClusterUnavailableError, ClusterNotConfiguredError, ClusterConflictError, CLUSTER_ERROR_CODES } from './errors.js';
export { KeySpace, type NetworkSpec, type RemoteRecord, type AddressClaim, type MemberInfo } from './keys.js';
export { Mirror, diffMirrors, type MirrorChange, type KeyValue, type MirrorEvent } from './mirror.js';
export { OwnedKeys, reconcilePlan } from './own.js';
export { SyncState, type SyncPhase } from './sync.js';
export { renderClusterMetrics } from './metrics.js';
export type { ClusterStore, ClusterListener, ClusterStatus, LostClaim } from './store.js';

/** The etcd-backed cluster store; `memberFile` keeps the member id and lease across restarts. */
export function createClusterStore(options: Readonly<ClusterOptions>, deps: { logger: Logger; memberFile?: string }): ClusterStore {
  return new EtcdClusterStore(options, deps);
}
