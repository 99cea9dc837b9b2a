import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../common/clock.js';
import { SyncState } from '../../../../store/cluster/sync.js';
import { renderClusterMetrics } from '../../../../store/cluster/metrics.js';

describe('sync state and metrics (M8)', () => {
  it('M8 connecting until the first sync; a refusal is stale at once, slow answers only after repeated misses; lag grows while stale', () => {
    const clock = new FakeClock();
    const s = new SyncState(clock);
    expect([s.phase, s.available, s.lagMs()]).toEqual(['connecting', false, undefined]);
    s.confirm();
    expect([s.phase, s.available]).toEqual(['synced', true]);
    expect(s.miss('slow')).toBe(false);
    expect(s.phase).toBe('synced');
    s.confirm();
    expect(s.miss('slow')).toBe(false);
    expect(s.miss('slow')).toBe(true);
    expect(s.phase).toBe('stale');
    clock.advance(4_000);
    expect(s.lagMs()).toBe(4_000);
    s.confirm();
    expect(s.fail('refused')).toBe(true);
    expect(s.fail('refused')).toBe(false);
    expect(s.lastError).toBe('refused');
  });

  it('M8 Prometheus text: synced flag, lag, watch reconnects, remote records', () => {
    const text = renderClusterMetrics({
      store: 'a:1', prefix: '/sandns', member: 'm', advertise: '10.0.0.1', lease: { id: '1', ttl: 10 }, sync: 'stale', lagMs: 2500, revision: 7,
      members: [], networks: 1, remoteRecords: 42, ownedKeys: 2, watchReconnects: 3, relists: 2, writes: 9, eventLoopDelayMaxMs: 1,
    });
    expect(text).toMatch(/^sandns_cluster_synced 0$/m);
    expect(text).toMatch(/^sandns_cluster_sync_lag_seconds 2.5$/m);
    expect(text).toMatch(/^sandns_cluster_watch_reconnects_total 3$/m);
    expect(text).toMatch(/^sandns_cluster_remote_records 42$/m);
    expect(text).toMatch(/# TYPE sandns_cluster_writes_total counter/);
  });
});
