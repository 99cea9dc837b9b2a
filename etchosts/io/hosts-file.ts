/**
 * Hosts-file I/O (H4): reads and in-place writes, serialized per path.
 */
import { SandnsError } from '../../common/errors.js';
import { HostsFileError } from '../errors.js';
import { readNoFollowSync, serializeOnPath, writeInPlaceSync } from '../../common/io/in-place.js';

/** Mode of a hosts file sandns creates (as Docker). */
const HOSTS_MODE = 0o644;


/** Wrap a failure of `op` on `path` into ERR_HOSTS_IO, keeping typed errors as they are. */
function wrap(path: string, op: string, err: unknown): never {
  if (err instanceof SandnsError) throw err;
  throw new HostsFileError(path, op, { cause: err });
}

/** Read a hosts file (after queued writes to it). Missing file: ERR_HOSTS_IO. */
export function readHostsText(path: string): Promise<string> {
  return serializeOnPath(path, async () => readNoFollowSync(path).toString('utf8')).catch((err: unknown) => wrap(path, 'read', err));
}

/**
 * Write `content` in place, creating the file (0644) and its directory (0755) if missing. Without fsync: a sandbox's
 * hosts file lives no longer than its namespace (H4, common/io/in-place.ts).
 */
export function writeHostsText(path: string, content: string): Promise<void> {
  return serializeOnPath(path, async () => writeInPlaceSync(path, content, { mode: HOSTS_MODE, create: true })).catch(
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
    const text = readNoFollowSync(path).toString('latin1');
    const next = edit(text);
    if (next !== text) writeInPlaceSync(path, Buffer.from(next, 'latin1'), { mode: HOSTS_MODE, create: false });
  }).catch((err: unknown) => wrap(path, 'edit', err));
}
