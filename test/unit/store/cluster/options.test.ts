import { describe, expect, it } from 'vitest';
import { normalizeClusterOptions, parseClusterStore } from '../../../../store/cluster/options.js';

const bad = (f: () => unknown, field: string): void => {
  expect(f).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', details: expect.objectContaining({ field }) }));
};

describe('cluster store options (M1)', () => {
  it('M1 etcd URL: several endpoints become an array (one comma string hangs etcd3), optional key prefix', () => {
    expect(parseClusterStore('etcd://10.0.0.1:2379,10.0.0.2:2379')).toEqual({ endpoints: ['10.0.0.1:2379', '10.0.0.2:2379'], prefix: '/sandns' });
    expect(parseClusterStore('etcd://etcd-1:2379/team/a/')).toEqual({ endpoints: ['etcd-1:2379'], prefix: '/team/a' });
    expect(parseClusterStore('etcd://[fd00::1]:2379')).toEqual({ endpoints: ['[fd00::1]:2379'], prefix: '/sandns' });
    expect(parseClusterStore('etcd://a:1,a:1').endpoints).toEqual(['a:1']);
  });

  it.each(['consul://a:8500', 'etcd://', 'etcd://a', 'etcd://a:0', 'etcd://a:70000', 'etcd://a:1,,b:2', 'a:2379', 'etcd://a:1/bad prefix'])(
    'M1 %s is refused, naming the flag', (url) => bad(() => parseClusterStore(url), 'cluster-store'),
  );

  it('M1 --cluster-advertise is required and must be an IP; a port is ignored (Docker accepts ip:port)', () => {
    bad(() => normalizeClusterOptions({ store: 'etcd://a:1' }), 'cluster-advertise');
    bad(() => normalizeClusterOptions({ store: 'etcd://a:1', advertise: 'eth0' }), 'cluster-advertise');
    expect(normalizeClusterOptions({ store: 'etcd://a:1', advertise: '10.1.2.3:2376' }).advertise).toBe('10.1.2.3');
    expect(normalizeClusterOptions({ store: 'etcd://a:1', advertise: 'fd00::5' }).advertise).toBe('fd00::5');
  });

  it('M1 options: lease.ttl (default 10 s, 2..3600), TLS files (Docker kv.* spellings too), cert and key together', () => {
    const d = normalizeClusterOptions({ store: 'etcd://a:1', advertise: '10.0.0.1' });
    expect(d.leaseTtl).toBe(10);
    expect(d.tls).toBeUndefined();
    expect(d.probeIntervalMs).toBeLessThanOrEqual(10_000 / 3);
    const o = normalizeClusterOptions({ store: 'etcd://a:1', advertise: '10.0.0.1', opts: ['lease.ttl=3', 'kv.cacertfile=/ca.pem', 'cert=/c.pem', 'key=/k.pem'] });
    expect(o.leaseTtl).toBe(3);
    expect(o.tls).toEqual({ ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' });
    expect(o.probeIntervalMs).toBe(1000);
    for (const opt of ['lease.ttl=1', 'lease.ttl=x', 'lease.ttl=2.5', 'ttl=5', 'lease.ttl', 'toString=1']) {
      bad(() => normalizeClusterOptions({ store: 'etcd://a:1', advertise: '10.0.0.1', opts: [opt] }), 'cluster-store-opt');
    }
    bad(() => normalizeClusterOptions({ store: 'etcd://a:1', advertise: '10.0.0.1', opts: ['cert=/c.pem'] }), 'cluster-store-opt');
  });
});
