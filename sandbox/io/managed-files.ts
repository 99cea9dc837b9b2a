/**
 * The managed files as root (L7): what is at a path before sandns takes
 * it, and the user's original content of a file that existed, kept aside
 * and put back (Docker keeps a copy of what it replaces the same way).
 * sandns deletes only what it created; it never writes through a symlink.
 */
import { constants, lstatSync, promises as fs, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { UnsafeFileError } from '../../common/errors.js';
import { readNoFollowSync, serializeOnPath, writeInPlace } from '../../common/io/in-place.js';

/** What is at a managed path before sandns writes it. */
export type PathState = 'absent' | 'file' | 'dir';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * lstat without following; undefined when nothing is there. The checks here are blocking calls, as the writes of
 * these files are (common/io/in-place.ts): a create makes several in a row, each microseconds from the dentry cache.
 */
function lstatOrUndefined(path: string): import('node:fs').Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** True when anything (a file, a directory, a symlink, dangling or not) is at `path`. */
export function entryExists(path: string): boolean {
  return lstatOrUndefined(path) !== undefined;
}

/** The nearest ancestor of `path` that exists, with its symlinks resolved. */
function realAncestor(path: string): string {
  for (let p = dirname(path); ; p = dirname(p)) {
    try {
      return realpathSync(p);
    } catch (err) {
      if (errno(err) !== 'ENOENT' || p === dirname(p)) throw err;
    }
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Check a path sandns will write (hosts, resolv.conf) and say what is there.
 * Refuses (ERR_FILE_PATH) a relative or non-normal path and, with
 * `allowedRoot`, a path whose real location (symlinked directories resolved)
 * leaves the root; refuses a symlink at the path (ERR_FILE_SYMLINK) and
 * anything but a regular file (ERR_FILE_NOT_REGULAR).
 */
export async function checkManagedFile(path: string, allowedRoot?: string): Promise<Exclude<PathState, 'dir'>> {
  checkPathShape(path, allowedRoot);
  if (allowedRoot !== undefined) {
    const real = join(realAncestor(path), basename(path));
    let root: string;
    try {
      root = realpathSync(allowedRoot);
    } catch {
      root = normalize(allowedRoot);
    }
    if (!inside(root, real)) throw new UnsafeFileError('ERR_FILE_PATH', path, `resolves to ${real}, outside the allowed root ${root}`);
  }
  const st = lstatOrUndefined(path);
  if (st === undefined) return 'absent';
  if (st.isSymbolicLink()) throw new UnsafeFileError('ERR_FILE_SYMLINK', path, 'is a symbolic link; sandns does not write through symlinks (remove it, or give another path)');
  if (!st.isFile()) throw new UnsafeFileError('ERR_FILE_NOT_REGULAR', path, 'exists and is not a regular file');
  return 'file';
}

/** Absolute and normal (no `.`/`..` segments, no NUL), within PATH_MAX and NAME_MAX, and lexically inside `allowedRoot` when one is set. */
export function checkPathShape(path: string, allowedRoot?: string): void {
  if (!isAbsolute(path)) throw new UnsafeFileError('ERR_FILE_PATH', path, 'must be an absolute path');
  if (path.includes('\0') || normalize(path) !== path || path.endsWith(sep)) {
    throw new UnsafeFileError('ERR_FILE_PATH', path, 'must be a normal path (no ".", ".." or empty segments, no trailing "/")');
  }
  // PATH_MAX and NAME_MAX (linux/limits.h): past them every call on the path fails with ENAMETOOLONG.
  if (Buffer.byteLength(path) > 4095) throw new UnsafeFileError('ERR_FILE_PATH', path, 'is longer than 4095 bytes (PATH_MAX)');
  const long = path.split(sep).find((segment) => Buffer.byteLength(segment) > 255);
  if (long !== undefined) throw new UnsafeFileError('ERR_FILE_PATH', path, `has a name of ${Buffer.byteLength(long)} bytes (at most 255, NAME_MAX)`);
  if (allowedRoot !== undefined && !inside(normalize(allowedRoot), path)) {
    throw new UnsafeFileError('ERR_FILE_PATH', path, `is outside the allowed root ${allowedRoot}`);
  }
}

/** Check a directory sandns would make and own: a symlink there is refused; returns what is there. */
export async function checkManagedDir(path: string): Promise<Exclude<PathState, 'file'>> {
  const st = lstatOrUndefined(path);
  if (st === undefined) return 'absent';
  if (st.isSymbolicLink()) throw new UnsafeFileError('ERR_FILE_SYMLINK', path, 'is a symbolic link; sandns does not write through symlinks (remove it)');
  if (!st.isDirectory()) throw new UnsafeFileError('ERR_FILE_NOT_REGULAR', path, 'exists and is not a directory');
  return 'dir';
}

/**
 * Keep the content and mode of the file at `path` in `backup` (written
 * atomically: temp, fsync, rename), before sandns first writes `path`.
 * A backup already there (a retried create) is kept: it is the oldest copy.
 */
export async function keepOriginal(path: string, backup: string): Promise<void> {
  if (lstatOrUndefined(backup) !== undefined) return;
  await serializeOnPath(path, async () => {
    const content = readNoFollowSync(path);
    const { mode } = await fs.lstat(path);
    await fs.mkdir(dirname(backup), { recursive: true, mode: 0o700 });
    const temp = `${backup}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The mode is on disk before the backup's name: a backup that exists always has its mode (else the put-back
    // would fall back to 0644, and widen a 0600 original).
    await writeSynced(`${backup}.mode`, (mode & 0o7777).toString(8));
    await fs.rename(temp, backup);
    // The names are durable too: the backup's (the rename) and its directory's, which the mkdir may have made. The
    // file at `path` is overwritten right after this returns; a power loss must not leave it with no backup.
    for (const dir of [dirname(backup), dirname(dirname(backup))]) await syncDir(dir);
  });
}

async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await fs.open(path, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Put the user's original content back at `path` (in place: the inode and a
 * bind mount of it survive; a symlink there is refused) and drop the backup.
 * No backup (a crash before it was taken, so sandns never wrote `path`):
 * the file is left as it is. Returns whether content was put back.
 */
export async function putBackOriginal(path: string, backup: string): Promise<boolean> {
  let content: Buffer;
  try {
    content = await fs.readFile(backup);
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
  const mode = Number.parseInt(await fs.readFile(`${backup}.mode`, 'utf8').catch(() => '644'), 8);
  await serializeOnPath(path, () => writeInPlace(path, content, { create: true, mode: Number.isInteger(mode) ? mode : 0o644 }));
  await fs.rm(backup, { force: true });
  await fs.rm(`${backup}.mode`, { force: true });
  return true;
}
