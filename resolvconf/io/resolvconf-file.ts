/**
 * resolv.conf I/O (C4; as Docker, TestRCWrite): reads, in-place writes
 * with a `<path>.hash` written atomically, and user-modification checks.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, mkdirSync, openSync, promises as fs, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SandnsError } from '../../common/errors.js';
import { ResolvConfFileError } from '../errors.js';
import { readNoFollowSync, serializeOnPath, writeInPlaceSync } from '../../common/io/in-place.js';

/** Options of writeResolvConfText. */
export interface WriteResolvConfOptions {
  /** Where the content hash goes: default `<path>.hash`; null for no hash (as Docker). */
  hashPath?: string | null;
  /** Mode of a newly created file and hash file (default 0644). */
  mode?: number;
  /** Leave a file the user changed alone, checked in the same queued step (C4). */
  skipIfUserModified?: boolean;
}

/** Wrap a failure of `op` on `path` into ERR_RESOLVCONF_IO, keeping typed errors. */
function wrap(path: string, op: string, err: unknown): never {
  if (err instanceof SandnsError) throw err;
  throw new ResolvConfFileError(path, op, { cause: err });
}

/** True for a missing-file error. */
function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** `sha256:<hex>` of content, as Docker's go-digest writes it. */
function digestOf(content: Buffer | string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/**
 * Read a text file after queued writes to it; undefined when it does not exist. Blocking once its turn comes (an
 * origin resolv.conf, read on every create: see common/io/in-place.ts).
 */
export function readTextIfExists(path: string): Promise<string | undefined> {
  return serializeOnPath(path, async () => readFileSync(path, 'utf8')).catch((err: unknown) =>
    isMissing(err) ? undefined : wrap(path, 'read', err),
  );
}

/** True when something exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (err) {
    return isMissing(err) ? false : wrap(path, 'stat', err);
  }
}

/**
 * The temp file a digest is written to before its rename: one fixed name per digest (its writes are queued per
 * path, never two at once), so whoever removes the digest can remove one a crash left mid-write too.
 */
export function digestTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

/**
 * Write a small run-time file (a digest under the run directory) atomically: temp file in the same directory,
 * rename. Not synced: it describes a file that lives no longer than its sandbox's namespace (H4, C4). Blocking, as
 * the file it describes is written (common/io/in-place.ts).
 */
function writeAtomicSync(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temp = digestTempPath(path);
  try {
    // Truncated when a crash left one; O_NOFOLLOW: a symlink planted at that name is refused (ELOOP), not followed.
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
    try {
      fchmodSync(fd, mode);
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** What is on disk: the file and the recorded digest, each undefined when missing. */
interface OnDisk {
  readonly current: Buffer | undefined;
  readonly stored: string | undefined;
}

/** `read()`, or undefined when the file is missing. */
function unlessMissing<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Read the file and its recorded digest once; a missing one is undefined. Blocking (common/io/in-place.ts). */
function readOnDiskSync(path: string, hashPath: string): OnDisk {
  return { current: unlessMissing(() => readNoFollowSync(path)), stored: unlessMissing(() => readFileSync(hashPath, 'utf8').trim()) };
}

/**
 * The user-modified check of what was read (C4): no hash means not modified; a bad hash or a missing file is a
 * change. The hash file holds one digest, or two (one per line) while a write is in progress: the content before it
 * and after it both count as sandns's, so a crash between the file's write and its hash's never makes the file look
 * edited by the user (and never updated again).
 */
function modified(disk: OnDisk): boolean {
  if (disk.stored === undefined) return false; // no hash: assume sandns wrote it (Docker UserModified)
  const digests = disk.stored.split('\n');
  if (digests.length > 2 || !digests.every((d) => /^sha256:[0-9a-f]{64}$/.test(d))) return true;
  return disk.current === undefined || !digests.includes(digestOf(disk.current));
}

/** The user-modified check without queueing (the caller holds the path's queue). */
async function checkModified(path: string, hashPath: string): Promise<boolean> {
  return modified(readOnDiskSync(path, hashPath));
}

/**
 * True when the file no longer matches the hash sandns recorded (C4; Docker
 * TestRCWrite): a missing hash file means not modified.
 */
export function isUserModified(path: string, hashPath = `${path}.hash`): Promise<boolean> {
  return serializeOnPath(path, () => checkModified(path, hashPath)).catch((err: unknown) =>
    wrap(path, 'check', err),
  );
}

/**
 * Write resolv.conf content in place (C4; as Docker): keeps the inode, one
 * write, parent directory created; then `<path>.hash` atomically. No fsync:
 * the file serves a namespace that a reboot ends (H4).
 * Resolves to false when skipped because the user modified the file.
 */
export function writeResolvConfText(path: string, content: string, opts: WriteResolvConfOptions = {}): Promise<boolean> {
  const hashPath = opts.hashPath === undefined ? `${path}.hash` : opts.hashPath;
  const mode = opts.mode ?? 0o644;
  return serializeOnPath(path, async () => {
    const data = Buffer.from(content, 'utf8');
    // One read of the file and its digest serves both checks (a read error other than a missing file fails the write).
    const disk = hashPath === null ? undefined : readOnDiskSync(path, hashPath);
    if (opts.skipIfUserModified === true && disk !== undefined && modified(disk)) return false;
    // Same content and a hash on record: nothing to write (a restart that re-reads the origin rewrites nothing, as Docker).
    if (disk?.current?.equals(data) === true && disk.stored === digestOf(data)) return true;
    // Both digests first (see `modified`): a crash between the file and its hash finds one of them.
    const before = disk?.current === undefined ? undefined : digestOf(disk.current);
    if (hashPath !== null && before !== undefined && !modified(disk!)) writeAtomicSync(hashPath, `${digestOf(data)}\n${before}`, mode);
    writeInPlaceSync(path, data, { create: true, mode });
    if (hashPath !== null) writeAtomicSync(hashPath, digestOf(data), mode);
    return true;
  }).catch((err: unknown) => wrap(path, 'write', err));
}
