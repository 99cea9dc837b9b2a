/**
 * Prometheus text of the cluster store (docs/cluster.md M8): sync state and
 * lag, watch reconnects, re-lists, remote record count, members, writes.
 */
import type { ClusterStatus } from './store.js';

/** The exposition of one status. */
export function renderClusterMetrics(s: ClusterStatus): string {
  const rows: [string, string, 'gauge' | 'counter', number][] = [
    ['sandns_cluster_synced', 'Whether the cluster store mirror is synced with etcd (1) or stale (0).', 'gauge', s.sync === 'synced' ? 1 : 0],
    ['sandns_cluster_sync_lag_seconds', 'Seconds since etcd last confirmed the mirror current.', 'gauge', (s.lagMs ?? 0) / 1000],
    ['sandns_cluster_watch_reconnects_total', 'Times the etcd watch was lost and attached again.', 'counter', s.watchReconnects],
    ['sandns_cluster_relists_total', 'Full re-lists of the cluster prefix (start, gaps, compaction).', 'counter', s.relists],
    ['sandns_cluster_remote_records', 'Endpoint records published by other hosts, in the mirror.', 'gauge', s.remoteRecords],
    ['sandns_cluster_members', 'Live members of the cluster.', 'gauge', s.members.length],
    ['sandns_cluster_global_networks', 'Global networks in the cluster.', 'gauge', s.networks],
    ['sandns_cluster_writes_total', 'Writes (puts, deletes, transactions) this host sent to etcd.', 'counter', s.writes],
    ['sandns_cluster_revision', 'etcd revision the mirror is current to.', 'gauge', s.revision],
  ];
  return rows.map(([n, h, t, v]) => `# HELP ${n} ${h}\n# TYPE ${n} ${t}\n${n} ${v}\n`).join('');
}
