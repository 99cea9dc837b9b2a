/**
 * Run real clients (getent, dig) inside a namespace.
 */
import { execa } from 'execa';

/** Result of a client run. */
export interface ClientResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run argv inside the named namespace with `ip netns exec` (files from /etc/netns/<name>). */
export async function inNetns(name: string, argv: string[], timeoutMs = 15_000): Promise<ClientResult> {
  const r = await execa('ip', ['netns', 'exec', name, ...argv], { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Run argv inside the namespace at `path` with nsenter (no /etc/netns bind mounts). */
export async function inNetnsPath(path: string, argv: string[], timeoutMs = 15_000): Promise<ClientResult> {
  const r = await execa('nsenter', [`--net=${path}`, '--', ...argv], { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** `getent hosts NAME` inside the namespace: the addresses glibc resolved. */
export async function getentHosts(netns: string, name: string): Promise<string[]> {
  const r = await inNetns(netns, ['getent', 'hosts', name]);
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean);
}

/** `dig +short` against 127.0.0.11 inside the namespace. */
export async function digShort(netns: string, args: string[], tcp = false): Promise<ClientResult> {
  const argv = ['dig', '+short', '+time=2', '+tries=1', ...(tcp ? ['+tcp'] : []), '@127.0.0.11', ...args];
  return inNetns(netns, argv);
}

/** `dig` status (NOERROR, SERVFAIL ...) of a query against 127.0.0.11 inside the namespace. */
export async function digStatus(netns: string, args: string[], tcp = false): Promise<string | undefined> {
  const argv = ['dig', '+time=2', '+tries=1', ...(tcp ? ['+tcp'] : []), '@127.0.0.11', ...args];
  const r = await inNetns(netns, argv);
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1];
}

/** Names of host links, and of namespaces. */
export async function hostLinks(): Promise<string[]> {
  const r = await execa('ip', ['-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

/** Names of the namespaces under /run/netns. */
export async function netnsNames(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}
