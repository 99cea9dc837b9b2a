/**
 * What an interface inside a sandbox looks like (`ip -j addr show dev X` run
 * there through nsenter): its MAC, its addresses and whether it is up. Used
 * by join (the MAC a CNI result must carry) and by link checks (CNI CHECK).
 */
import { runInNetns } from '../../common/io/exec.js';

/** An interface inside a sandbox. */
export interface SandboxLink {
  readonly mac: string;
  /** Addresses without prefix length, canonical as iproute2 prints them. */
  readonly addresses: readonly string[];
  readonly up: boolean;
}

interface IpAddrJson {
  address?: string;
  flags?: string[];
  operstate?: string;
  addr_info?: { local?: string }[];
}

/** The interface `ifname` inside the namespace at `netnsPath`; undefined when it (or the namespace) is not there. */
export async function inspectSandboxLink(netnsPath: string, ifname: string): Promise<SandboxLink | undefined> {
  try {
    const { stdout } = await runInNetns(netnsPath, 'ip', ['-j', 'addr', 'show', 'dev', ifname]);
    const link = (JSON.parse(stdout) as IpAddrJson[])[0];
    if (link === undefined) return undefined;
    return {
      mac: link.address ?? '',
      addresses: (link.addr_info ?? []).map((a) => a.local ?? '').filter(Boolean),
      up: (link.flags ?? []).includes('UP'),
    };
  } catch {
    return undefined;
  }
}

/** What is wrong with a sandbox interface that should carry `addresses` (empty when nothing is). */
export async function sandboxLinkProblems(netnsPath: string, ifname: string, addresses: readonly string[]): Promise<string[]> {
  const link = await inspectSandboxLink(netnsPath, ifname);
  if (link === undefined) return [`interface ${ifname} is missing from ${netnsPath}`];
  const out: string[] = [];
  if (!link.up) out.push(`interface ${ifname} is down`);
  for (const a of addresses) if (!link.addresses.includes(a)) out.push(`interface ${ifname} lacks address ${a}`);
  return out;
}
