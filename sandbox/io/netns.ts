/**
 * Network namespaces: create a named one (/run/netns/<name>), adopt an
 * existing one by path (an external key), bring `lo` up, delete. All
 * in-process: the native helper pins and unpins namespaces as `ip netns
 * add/del` do, and `lo` comes up over rtnetlink from inside the namespace.
 */
import { crashPoint } from '../../common/crash.js';
import { statSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { ip } from '../../common/io/exec.js';
import { requireNativeHelper } from '../../common/io/native.js';
import { NetlinkError, netlinkErrno, withNetlink } from '../../common/io/rtnetlink.js';
import { constants } from 'node:os';
import { HostLimitError } from '../../common/errors.js';
import { NetnsError, NetnsExistsError } from '../errors.js';

/** Directory of named namespaces (as `ip netns` uses it). */
export const NETNS_RUN_DIR = '/run/netns';

/** Path of a named namespace. */
export function netnsPathFor(name: string): string {
  return `${NETNS_RUN_DIR}/${name}`;
}

/** The ifalias on `lo` that marks a namespace as made by sandns for sandbox `id` (restore removes only marked ones, L4). */
export function netnsMark(id: string): string {
  return `sandns:sb:${id}`.slice(0, 128);
}

/**
 * Create a named namespace with `lo` up and marked, in one call of the native helper (the mark is set from inside the
 * new namespace before the thread switches back); returns its path. The helper creates /run/netns/<name> with
 * O_EXCL: a name that exists fails (ERR_SANDBOX_NETNS_EXISTS) and nothing is undone, as it is not ours. Any other
 * failure leaves nothing behind (ERR_SANDBOX_NETNS).
 */
export async function createNetns(name: string, mark: string): Promise<string> {
  const path = netnsPathFor(name);
  try {
    requireNativeHelper().createNetns(path, mark);
    crashPoint('kernel-changed');
  } catch (err) {
    if ((err as { errno?: number }).errno === 17 || (await exists(path))) throw new NetnsExistsError(name, err);
    // unshare(2): ENOSPC = "the caller's user namespace is at its max_net_namespaces" (namespaces(7)); the pin file is gone again.
    if ((err as { errno?: number }).errno === constants.errno.ENOSPC && /^unshare\(/.test((err as Error).message)) {
      throw new HostLimitError({ errno: 'ENOSPC', limit: 'user.max_net_namespaces' }, 'ERR_SANDBOX_NETNS', err);
    }
    throw new NetnsError(name, `could not create the network namespace: ${(err as Error).message}`, err);
  }
  return path;
}

/** The loopback interface's index in every namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
const LOOPBACK_IFINDEX = 1;

/**
 * Bring `lo` up (and mark it with the ifalias `mark`, when given). Must happen before 127.0.0.11 is bound, or UDP replies leave
 * from 127.0.0.1 and connected clients, which check the source address, drop them.
 */
export async function bringLoUp(path: string, mark?: string): Promise<void> {
  await withNetlink(path, async (nl) => {
    try {
      await nl.setLink({ index: LOOPBACK_IFINDEX, change: { up: true }, flags: { up: true } }, mark === undefined ? {} : { ifalias: mark });
    } catch (err) {
      throw new NetlinkError('link set lo up', netlinkErrno(err), { cause: err, netns: path });
    }
  });
}

/** NSFS_MAGIC (linux/magic.h): what statfs reports for a namespace file, pinned or /proc/<pid>/ns/net. */
const NSFS_MAGIC = 0x6e736673;

/** True when `path` is a live namespace file; no process spawned (restore checks many, L3). */
export async function netnsMounted(path: string): Promise<boolean> {
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * True when the namespace at `path` is the daemon's own (/proc/self/ns/net) or the host's (that of pid 1): a sandbox
 * given it as its key would get the daemon's or the host's interfaces, routes and port 53 (a veth, a default route
 * and a listener put into them). Namespaces are compared by nsfs identity (device and inode), not by path.
 */
export async function isHostNetns(path: string): Promise<boolean> {
  const [ns, own, init] = await Promise.all([path, '/proc/self/ns/net', '/proc/1/ns/net'].map((p) => stat(p).catch(() => undefined)));
  return ns !== undefined && [own, init].some((h) => h !== undefined && h.dev === ns.dev && h.ino === ns.ino);
}

/**
 * The identity of the namespace at `path` (its nsfs device and inode, whatever path leads to it), undefined when it
 * cannot be read. A blocking stat: an nsfs inode answers from memory in microseconds, where a trip through the
 * thread pool waits behind the create's own writes and syncs.
 */
export function netnsIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** True when `path` is a network namespace file we can enter. */
export async function netnsAlive(path: string): Promise<boolean> {
  if (!(await netnsMounted(path))) return false;
  try {
    requireNativeHelper().callInNetns(path, () => undefined); // setns(CLONE_NEWNET) refuses any other namespace type
    return true;
  } catch {
    return false;
  }
}

/** True when something (a namespace or any file) is at /run/netns/<name>. */
export function netnsNameTaken(name: string): Promise<boolean> {
  return exists(netnsPathFor(name));
}

/**
 * Restore (L3): whether the namespace <name> is the one sandns made for
 * `mark`: its `lo` carries the mark, or it is pristine (only `lo`, down, no
 * alias: the namespace was pinned and the crash came before lo was set up; the
 * name was checked free just before). Anything else is someone else's.
 */
export async function netnsMadeFor(name: string, mark: string): Promise<boolean> {
  try {
    return await withNetlink(netnsPathFor(name), async (nl) => {
      const links = await nl.getLinks({});
      const lo = links.find((l) => l.data.index === LOOPBACK_IFINDEX);
      if (lo?.attrs.ifalias === mark) return true;
      return links.length === 1 && lo !== undefined && lo.attrs.ifalias === undefined && lo.data.flags?.up !== true;
    });
  } catch {
    return false;
  }
}

/** Delete a named namespace (idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  try {
    requireNativeHelper().removeNetns(netnsPathFor(name));
    crashPoint('kernel-changed');
  } catch (err) {
    if (await exists(netnsPathFor(name))) throw new NetnsError(name, `could not delete the network namespace: ${(err as Error).message}`, err);
  }
}

/** True when something is at `path` (a blocking stat, microseconds from the dentry cache; see common/io/in-place.ts). */
async function exists(path: string): Promise<boolean> {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** A namespace path that dies with its process (/proc/<pid>/ns/net, /proc/<pid>/task/<tid>/ns/net): it must be pinned to be kept. */
const EPHEMERAL = /^\/proc\/(\d+)\/(?:task\/(\d+)\/)?ns\/net$/;

/** True when `path` names a process's namespace rather than a pinned one (`ctr run --cni` passes those). */
export function isEphemeralNetnsPath(path: string): boolean {
  return EPHEMERAL.test(path);
}

/** Where sandns pins the ephemeral namespace of sandbox `id` (the OCI hook's pins are `sandns-<id>`). */
export function pinnedNetnsPath(id: string): string {
  return netnsPathFor(`sandns-pin-${id}`);
}

/**
 * Pin the namespace of a /proc path at `pinned` (`ip netns attach`, a bind
 * mount that outlives the process's other holders and a daemon restart), as
 * the OCI hook pins its container's. A stale pin of that name is replaced.
 */
export async function pinNetns(procPath: string, pinned: string): Promise<void> {
  const m = EPHEMERAL.exec(procPath);
  if (m === null) throw new NetnsError(procPath, 'only /proc/<pid>/ns/net paths are pinned');
  const name = pinned.slice(NETNS_RUN_DIR.length + 1);
  await deleteNetns(name);
  try {
    await ip(['netns', 'attach', name, m[2] ?? m[1]!]);
  } catch (err) {
    throw new NetnsError(procPath, `could not pin it at ${pinned} (has the process exited?)`, err);
  }
}
