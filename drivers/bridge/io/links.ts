/**
 * Applies bridge plans with iproute2 (`ip -batch -`), on the host and inside
 * sandboxes (through nsenter, which accepts any netns path, external keys
 * included). Why iproute2 and not netlink: see the README's design notes.
 */
import { ip, ipBatch, ipBatchInNetns, ipJson, runInNetns } from '../../../common/io/exec.js';

/** Run host-namespace lines. */
export async function applyHost(lines: readonly string[]): Promise<void> {
  if (lines.length > 0) await ipBatch(lines);
}

/** Run sandbox-namespace lines. */
export async function applySandbox(netnsPath: string, lines: readonly string[]): Promise<void> {
  if (lines.length > 0) await ipBatchInNetns(netnsPath, lines);
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

/** The ifalias of a host link; undefined when the link or its alias is absent. */
export async function linkAlias(name: string): Promise<string | undefined> {
  try {
    const [link] = await ipJson<{ ifalias?: string }[]>(['link', 'show', 'dev', name]);
    return link?.ifalias;
  } catch {
    return undefined;
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
