/**
 * Namespace identity as the kernel defines it: a network namespace is the
 * nsfs inode behind its file, so two paths name the same namespace exactly
 * when stat(2) gives both the same device and inode (what `ip netns identify`
 * compares). A /proc/<pid>/ns/net path and the bind mount that pins it at
 * /run/netns/<name> are the same namespace under two paths; one path that
 * was unmounted and mounted again over a new namespace is two.
 */
import { stat } from 'node:fs/promises';

/** `<device>:<inode>` of the namespace file at `path`; undefined when it cannot be read (gone, not visible, no permission). */
export async function namespaceIdentity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}
