/**
 * resolv.conf I/O (C4; as Docker, TestRCWrite): reads, in-place writes
 * with a `<path>.hash` written atomically, and user-modification checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SandnsError } from '../../common/errors.js';
import { ResolvConfFileError } from '../errors.js';
import { readNoFollow, serializeOnPath, writeInPlace } from '../../common/io/in-place.js';

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

/** Read a text file after queued writes to it; undefined when it does not exist. */
export function readTextIfExists(path: string): Promise<string | undefined> {
  return serializeOnPath(path, () => fs.readFile(path, 'utf8')).catch((err: unknown) =>
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

/** Write a small file atomically: temp file in the same directory, fsync, rename. */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temp, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** The user-modified check without queueing (the caller holds the path's queue). */
async function checkModified(path: string, hashPath: string): Promise<boolean> {
  let stored: string;
  try {
    stored = (await fs.readFile(hashPath, 'utf8')).trim();
  } catch (err) {
    if (isMissing(err)) return false; // no hash: assume sandns wrote it (Docker UserModified)
    throw err;
  }
  // A hash that cannot be checked, or a file that is gone, counts as a user change (C4).
  if (!/^sha256:[0-9a-f]{64}$/.test(stored)) return true;
  try {
    return digestOf(await readNoFollow(path)) !== stored;
  } catch (err) {
    if (isMissing(err)) return true;
    throw err;
  }
}

/** True when `path` holds exactly `data` and `hashPath` records its digest. */
async function sameContent(path: string, hashPath: string, data: Buffer): Promise<boolean> {
  try {
    const [current, stored] = await Promise.all([readNoFollow(path), fs.readFile(hashPath, 'utf8')]);
    return current.equals(data) && stored.trim() === digestOf(data);
  } catch {
    return false;
  }
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
 * write, fsync, parent directory created; then `<path>.hash` atomically.
 * Resolves to false when skipped because the user modified the file.
 */
export function writeResolvConfText(path: string, content: string, opts: WriteResolvConfOptions = {}): Promise<boolean> {
  const hashPath = opts.hashPath === undefined ? `${path}.hash` : opts.hashPath;
  const mode = opts.mode ?? 0o644;
  return serializeOnPath(path, async () => {
    if (opts.skipIfUserModified === true && hashPath !== null && (await checkModified(path, hashPath))) return false;
    const data = Buffer.from(content, 'utf8');
    // Same content and a hash on record: nothing to write (a restart that re-reads the origin rewrites nothing, as Docker).
    if (hashPath !== null && (await sameContent(path, hashPath, data))) return true;
    await writeInPlace(path, data, { create: true, mode });
    if (hashPath !== null) await writeAtomic(hashPath, digestOf(data), mode);
    return true;
  }).catch((err: unknown) => wrap(path, 'write', err));
}
