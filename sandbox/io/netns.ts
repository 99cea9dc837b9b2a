/**
 * Network namespaces: create a named one (/run/netns/<name>), adopt an
 * existing one by path (an external key), bring `lo` up, delete. All
 * in-process: the native helper pins and unpins namespaces as `ip netns
 * add/del` do, and `lo` comes up over rtnetlink from inside the namespace.
 */
import { stat, statfs } from 'node:fs/promises';
import { requireNativeHelper } from '../../common/io/native.js';
import { NetlinkError, netlinkErrno, withNetlink } from '../../common/io/rtnetlink.js';
import { NetnsError } from '../errors.js';

/** Directory of named namespaces (as `ip netns` uses it). */
export const NETNS_RUN_DIR = '/run/netns';

/** Path of a named namespace. */
export function netnsPathFor(name: string): string {
  return `${NETNS_RUN_DIR}/${name}`;
}

/** Create a named namespace with `lo` up; returns its path. */
export async function createNetns(name: string): Promise<string> {
  const path = netnsPathFor(name);
  try {
    requireNativeHelper().createNetns(path);
  } catch (err) {
    const exists = (err as { errno?: number }).errno === 17;
    throw new NetnsError(name, exists ? 'a network namespace of that name exists already' : `could not create the network namespace: ${(err as Error).message}`, err);
  }
  try {
    await bringLoUp(path);
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return path;
}

/** The loopback interface's index in every namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
const LOOPBACK_IFINDEX = 1;

/**
 * Bring `lo` up. Must happen before 127.0.0.11 is bound, or UDP replies leave
 * from 127.0.0.1 and connected clients, which check the source address, drop them.
 */
export async function bringLoUp(path: string): Promise<void> {
  await withNetlink(path, async (nl) => {
    try {
      await nl.setLink({ index: LOOPBACK_IFINDEX, change: { up: true }, flags: { up: true } });
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

/** Delete a named namespace (idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  try {
    requireNativeHelper().removeNetns(netnsPathFor(name));
  } catch (err) {
    if (await exists(netnsPathFor(name))) throw new NetnsError(name, `could not delete the network namespace: ${(err as Error).message}`, err);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
