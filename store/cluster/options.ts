/**
 * Cluster store options (G9): `--cluster-store etcd://HOST:PORT[,HOST:PORT…][/PREFIX]`,
 * `--cluster-advertise ADDRESS` and `--cluster-store-opt KEY=VALUE` (Docker's flag
 * names; docs/cluster.md M1). Checked once here, trusted inside.
 */
import { Address4, Address6 } from 'ip-address';
import { InvalidOptionError } from '../../common/errors.js';

/** Normalised cluster options. */
export interface ClusterOptions {
  /** etcd client endpoints, `host:port` each (an array: etcd3 hangs on one comma string). */
  readonly endpoints: readonly string[];
  /** Key prefix every sandns key lives under, no trailing slash (default `/sandns`). */
  readonly prefix: string;
  /** This host's underlay address: published in its member record, the VTEP of overlays. */
  readonly advertise: string;
  /** TTL of the host's lease in seconds (records and addresses die with it). */
  readonly leaseTtl: number;
  /** Deadline of each etcd call, in ms (the etcd3 client never gives up by itself). */
  readonly callTimeoutMs: number;
  /** Interval of the reachability probe, in ms. */
  readonly probeIntervalMs: number;
  /** Deadline of the probe: etcd not answering within it marks the store stale. */
  readonly probeTimeoutMs: number;
  /** TLS files (PEM), all optional; `ca` alone gives server-verified TLS. */
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined;
}

/** What the daemon's flags give. */
export interface RawClusterOptions {
  store: string;
  advertise?: string | undefined;
  opts?: readonly string[] | undefined;
}

/** Defaults (issue 15: lease TTL 10 s). */
export const CLUSTER_DEFAULTS = { leaseTtl: 10, callTimeoutMs: 10000, probeIntervalMs: 1000, probeTimeoutMs: 4000, prefix: '/sandns' } as const;

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Parse `etcd://h:p,h:p/prefix` into endpoints and a prefix; throws ERR_INVALID_OPTION. */
export function parseClusterStore(url: string): { endpoints: string[]; prefix: string } {
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url);
  if (m === null) throw new InvalidOptionError('cluster-store', `expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX], got ${JSON.stringify(url)}`);
  const endpoints = m[1]!.split(',').map((h) => h.trim());
  for (const h of endpoints) {
    const hp = HOST_PORT.exec(h);
    const port = Number(hp?.[2]);
    if (hp === null || port < 1 || port > 65535) throw new InvalidOptionError('cluster-store', `${JSON.stringify(h)} is not HOST:PORT`);
  }
  const rawPrefix = (m[2] ?? CLUSTER_DEFAULTS.prefix).replace(/\/+$/, '');
  if (rawPrefix === '' || !/^\/[A-Za-z0-9._/-]+$/.test(rawPrefix)) {
    throw new InvalidOptionError('cluster-store', `key prefix ${JSON.stringify(m[2])} must be a path such as /sandns`);
  }
  return { endpoints: [...new Set(endpoints)], prefix: rawPrefix };
}

/** TLS option names, with Docker's `kv.*` spellings. */
const TLS_KEYS: Record<string, 'ca' | 'cert' | 'key'> = { ca: 'ca', cert: 'cert', key: 'key', 'kv.cacertfile': 'ca', 'kv.certfile': 'cert', 'kv.keyfile': 'key' };

function parseStoreOpts(opts: readonly string[]): { leaseTtl: number; tls: ClusterOptions['tls'] } {
  let leaseTtl: number = CLUSTER_DEFAULTS.leaseTtl;
  const tls: { ca?: string; cert?: string; key?: string } = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? '' : o.slice(eq + 1);
    if (value === '') throw new InvalidOptionError('cluster-store-opt', `${JSON.stringify(o)} is not KEY=VALUE`);
    if (key === 'lease.ttl') {
      leaseTtl = Number(value);
      if (!Number.isInteger(leaseTtl) || leaseTtl < 2 || leaseTtl > 3600) {
        throw new InvalidOptionError('cluster-store-opt', 'lease.ttl must be whole seconds from 2 to 3600');
      }
    } else if (Object.hasOwn(TLS_KEYS, key)) {
      tls[TLS_KEYS[key]!] = value;
    } else {
      throw new InvalidOptionError('cluster-store-opt', `unknown option ${JSON.stringify(key)} (known: lease.ttl, ca, cert, key)`);
    }
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InvalidOptionError('cluster-store-opt', 'give cert and key together');
  return { leaseTtl, tls: Object.keys(tls).length === 0 ? undefined : tls };
}

/** Check the flags once (G9); throws ERR_INVALID_OPTION naming the flag and the fix. */
export function normalizeClusterOptions(raw: RawClusterOptions): Readonly<ClusterOptions> {
  const { endpoints, prefix } = parseClusterStore(raw.store);
  if (raw.advertise === undefined || raw.advertise === '') {
    throw new InvalidOptionError('cluster-advertise', 'is required with --cluster-store: give this host\'s underlay IP address');
  }
  // Docker accepts IP:PORT and [IPv6]:PORT; the port means nothing here.
  const advertise = /^\[(.+)\]:\d+$/.exec(raw.advertise)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(raw.advertise)?.[1] ?? raw.advertise;
  if (!Address4.isValid(advertise) && !Address6.isValid(advertise)) throw new InvalidOptionError('cluster-advertise', `${JSON.stringify(raw.advertise)} is not an IP address`);
  const { leaseTtl, tls } = parseStoreOpts(raw.opts ?? []);
  return Object.freeze({
    endpoints, prefix, advertise, leaseTtl, tls,
    callTimeoutMs: CLUSTER_DEFAULTS.callTimeoutMs,
    probeTimeoutMs: CLUSTER_DEFAULTS.probeTimeoutMs,
    probeIntervalMs: Math.min(CLUSTER_DEFAULTS.probeIntervalMs, (leaseTtl * 1000) / 3),
  });
}
