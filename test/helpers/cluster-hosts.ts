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
