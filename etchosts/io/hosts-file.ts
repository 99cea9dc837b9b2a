/**
 * Hosts-file I/O (H4): reads and in-place writes, serialized per path.
 */
import { SandnsError } from '../../common/errors.js';
import { HostsFileError } from '../errors.js';
import { readNoFollow, serializeOnPath, writeInPlace } from '../../common/io/in-place.js';

/** Mode of a hosts file sandns creates (as Docker). */
const HOSTS_MODE = 0o644;

/** A sandbox's hosts file lives no longer than its namespace: written without fsync (H4, in-place.ts). */
const WRITE = { mode: HOSTS_MODE, sync: false } as const;

/** Wrap a failure of `op` on `path` into ERR_HOSTS_IO, keeping typed errors as they are. */
function wrap(path: string, op: string, err: unknown): never {
  if (err instanceof SandnsError) throw err;
  throw new HostsFileError(path, op, { cause: err });
}

/** Read a hosts file (after queued writes to it). Missing file: ERR_HOSTS_IO. */
export function readHostsText(path: string): Promise<string> {
  return serializeOnPath(path, async () => (await readNoFollow(path)).toString('utf8')).catch((err: unknown) => wrap(path, 'read', err));
}

/** Write `content` in place, creating the file (0644) and its directory (0755) if missing. */
export function writeHostsText(path: string, content: string): Promise<void> {
  return serializeOnPath(path, () => writeInPlace(path, content, { ...WRITE, create: true })).catch(
    (err: unknown) => wrap(path, 'write', err),
  );
}

/**
 * Read, edit and write back an existing file as one queued step (H4). `edit`
 * runs on the current text; when it returns the same text nothing is written.
 * The text is decoded as latin1 so every byte of lines sandns does not own
 * survives the round trip unchanged (sandns's own lines are ASCII, H5).
 */
export function editHostsText(path: string, edit: (text: string) => string): Promise<void> {
  return serializeOnPath(path, async () => {
    const text = (await readNoFollow(path)).toString('latin1');
    const next = edit(text);
    if (next !== text) await writeInPlace(path, Buffer.from(next, 'latin1'), { ...WRITE, create: false });
  }).catch((err: unknown) => wrap(path, 'edit', err));
}
