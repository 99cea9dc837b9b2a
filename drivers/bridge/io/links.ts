/**
 * Applies bridge plans with iproute2 (`ip -batch -`), on the host and inside
 * sandboxes (through nsenter, which accepts any netns path, external keys
 * included). Why iproute2 and not netlink: see the README's design notes.
 */
import { readFile } from 'node:fs/promises';
import { ip, ipBatch, ipBatchInNetns, ipJson, runInNetns } from '../../../common/io/exec.js';
import { toIpBatch, type LinkOp } from '../plan.js';
import { parseProcNetDev, type LinkCounters } from '../stats.js';

/** Apply host-namespace ops. */
export async function applyHost(ops: readonly LinkOp[]): Promise<void> {
  if (ops.length > 0) await ipBatch(toIpBatch(ops));
}

/** Apply sandbox-namespace ops. */
export async function applySandbox(netnsPath: string, ops: readonly LinkOp[]): Promise<void> {
  if (ops.length > 0) await ipBatchInNetns(netnsPath, toIpBatch(ops));
}

/** True when a link of that name exists in the host namespace. */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/** Delete a host link if it exists (idempotent). */
export async function deleteLinkIfExists(name: string): Promise<void> {
  if (await linkExists(name)) {
    await ip(['link', 'del', 'dev', name]).catch(async (err: unknown) => {
      if (await linkExists(name)) throw err;
    });
  }
}

/** MAC address of an interface inside a sandbox. */
export async function sandboxLinkMac(netnsPath: string, ifname: string): Promise<string> {
  const { stdout } = await runInNetns(netnsPath, 'ip', ['-j', 'link', 'show', 'dev', ifname]);
  const links = JSON.parse(stdout) as { address?: string }[];
  return links[0]?.address ?? '';
}

/** Every host link with its bridge (master), if any. */
export async function hostLinks(): Promise<{ ifname: string; master?: string }[]> {
  return ipJson<{ ifname: string; master?: string }[]>(['link', 'show']);
}

/** Names of the host links whose names start with `prefix`. */
export async function hostLinksWithPrefix(prefix: string): Promise<string[]> {
  const links = await ipJson<{ ifname: string }[]>(['link', 'show']);
  return links.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}

/** Per-interface counters of host links, from /proc/net/dev of the daemon's namespace (no process spawned). */
export async function hostLinkCounters(): Promise<Map<string, LinkCounters>> {
  return parseProcNetDev(await readFile('/proc/net/dev', 'utf8'));
}
