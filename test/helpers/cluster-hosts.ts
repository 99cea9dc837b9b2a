/**
 * Daemons of a simulated cluster (the tests of docs/cluster.md): one per lab host, each
 * with its own state dir and socket, run inside its host namespace with
 * `nsenter --net` and pointed at the lab's etcd. Plus the DNS checks the
 * scenarios use, asked from inside sandboxes.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ClusterLab, LabHost } from './cluster-lab.js';
import { stateDaemon, type StateDaemon } from './state-daemon.js';

/** A host with its daemon. */
export interface ClusterHost {
  readonly host: LabHost;
  readonly daemon: StateDaemon;
}

/** Make (not start) the daemon of `host`. */
export async function hostDaemon(lab: ClusterLab, bin: string, host: LabHost, leaseTtl: number): Promise<ClusterHost> {
  const daemon = await stateDaemon(bin, join(lab.dir, `d-${host.name}`), {
    netnsPath: host.netnsPath,
    args: ['--cluster-store', lab.storeUrl, '--cluster-advertise', host.ip, '--cluster-store-opt', `lease.ttl=${leaseTtl}`],
  });
  return { host, daemon };
}

/** A-record answers of `name` asked of 127.0.0.11 inside sandbox netns `sb` (empty: NXDOMAIN/none). */
export async function digA(sb: string, name: string): Promise<string[]> {
  const r = await execa('nsenter', [`--net=/run/netns/${sb}`, '--', 'dig', '+short', '+time=1', '+tries=1', '@127.0.0.11', name, 'A'], { reject: false });
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l));
}

/** The status (NOERROR, NXDOMAIN ...) of an A query inside sandbox netns `sb`; undefined when nothing answered. */
export async function digStatus(sb: string, name: string): Promise<string | undefined> {
  const r = await execa('nsenter', [`--net=/run/netns/${sb}`, '--', 'dig', '+time=1', '+tries=1', '@127.0.0.11', name, 'A'], { reject: false });
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1];
}

/** Remove what sandboxes named `<tag>…` left outside the lab's namespaces (netns entries, /etc/netns and /run/sandns dirs). */
export async function removeSandboxLeftovers(tag: string): Promise<void> {
  const list = await execa('ip', ['netns', 'list'], { reject: false });
  for (const ns of list.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(tag))) {
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
  const dirs = await execa('bash', ['-c', `ls -d /etc/netns/${tag}* /run/sandns/sandboxes/${tag}* 2>/dev/null`], { reject: false });
  for (const d of dirs.stdout.split('\n').filter(Boolean)) await rm(d, { recursive: true, force: true });
}

/** The lab's etcd cluster (`members` members) and one started daemon per host name, each with lease TTL `leaseTtl`. */
export async function startCluster(lab: ClusterLab, bin: string, names: readonly string[], leaseTtl: number, members = 3): Promise<ClusterHost[]> {
  await lab.startEtcd(members);
  const hosts = await Promise.all(names.map(async (n) => hostDaemon(lab, bin, await lab.addHost(n), leaseTtl)));
  await Promise.all(hosts.map((h) => h.daemon.start()));
  // The API answers before the store has synced (a start never waits long for etcd, M8): wait for it here.
  const end = Date.now() + 20_000;
  for (const h of hosts) {
    while ((await h.daemon.api<{ sync: string }>('GET', '/cluster')).sync !== 'synced') {
      if (Date.now() > end) throw new Error(`host ${h.host.name} did not sync with the cluster store`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return hosts;
}

/**
 * Make sandbox `name` on `h` and connect it to `net`; the endpoint as the API describes it. A 503 (etcd missed a
 * call deadline on this loaded machine: M8's answer) is asked again for up to 15 s, as a user would.
 */
export async function connectSandbox<T = { ipv4: string; mac?: string }>(h: ClusterHost, name: string, net: string, extra: Record<string, unknown> = {}): Promise<T> {
  await h.daemon.api('POST', '/sandboxes', { name });
  const end = Date.now() + 15_000;
  for (;;) {
    const r = await h.daemon.http('POST', `/networks/${net}/connect`, { sandbox: name, ...extra });
    if (r.status >= 200 && r.status < 300) return r.body as T;
    if (r.status !== 503 || Date.now() > end) throw new Error(`POST /networks/${net}/connect -> ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}
