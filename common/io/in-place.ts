/**
 * In-place file writes and per-path queues (H4, C4; as Docker). The file may be
 * bind-mounted into a container, so it is never replaced by a rename: the
 * inode is kept, the whole content goes out in one write call, then fsync
 * where the file must outlive the machine's uptime.
 *
 * The opens, reads and writes are blocking calls on the event loop. These files
 * are small (a hosts file, a resolv.conf, a digest) on local filesystems, and
 * each call returns in microseconds from the page cache, while each trip
 * through libuv's thread pool costs 50-150 µs of scheduling: a create or join
 * makes ten to twenty of them in a row, so the blocking calls finish it sooner
 * and block the loop less than the trips would delay it (issue 13: a create's
 * files 2.4 → 1.6 ms, a join's hosts lines 1.8 → 1.0 ms). Only fsync, which
 * waits for the disk, runs on the thread pool.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import { UnsafeFileError } from '../errors.js';

/**
 * ELOOP from an O_NOFOLLOW open means a symlink sits at the path (`/etc/netns/<name>/hosts -> /etc/shadow`): a typed
 * refusal instead of its target being written as root (L7).
 */
function refuseSymlink(path: string, err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
    throw new UnsafeFileError('ERR_FILE_SYMLINK', path, 'is a symbolic link; sandns does not write through symlinks (remove it, or give another path)', { cause: err });
  }
  throw err;
}

/**
 * Where each managed file's path led when sandns took it (its real location: every directory on the path resolved).
 * O_NOFOLLOW guards only the last component: a directory on the path replaced by a symlink later (`/root/x` ->
 * `/etc`) would lead a write, or a delete, elsewhere as root. A pinned path's opens must land on that location
 * (checked on the opened descriptor, so a swap between a check and the open is caught too), and its deletes check it
 * first (L7). Pinned when a sandbox is created or restored, released when its files go.
 */
const pinned = new Map<string, string>();

/** The real location `path` leads to now: the deepest existing ancestor with its symlinks resolved, then the rest. */
function realLocation(path: string): string {
  const rest = [basename(path)];
  for (let p = dirname(path); ; p = dirname(p)) {
    try {
      return join(realpathSync.native(p), ...rest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || p === dirname(p)) throw err;
      rest.unshift(basename(p));
    }
  }
}

/**
 * Where an opened file or directory is now: the kernel's own path of the descriptor (readlink of /proc/self/fd/<fd>,
 * proc(5)), already free of symlinks, with " (deleted)" after it once unlinked. One system call, and, unlike
 * realpath(3) of that link, which walks the returned string again, never thrown off by a rename meanwhile.
 */
function openedAt(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** Pin where `path` leads now (see `pinned`). */
export function pinLocation(path: string): void {
  pinned.set(path, realLocation(path));
}

/** Forget `path`'s pin (its sandbox's files are gone). */
export function unpinLocation(path: string): void {
  pinned.delete(path);
}

/** True when `path` is not pinned or still leads where it did (a delete may go ahead). */
export function stillPinned(path: string): boolean {
  const want = pinned.get(path);
  if (want === undefined) return true;
  try {
    return realLocation(path) === want;
  } catch {
    return false;
  }
}

/**
 * Where `path` led when it was pinned; or, for a directory above one of the pinned `files` below which every
 * directory was made by sandns (so none of them was a symlink then), where that directory led: the file's pinned
 * location cut by as many components. Undefined when no pin covers the path.
 */
export function pinnedLocation(path: string, files: readonly string[] = []): string | undefined {
  const own = pinned.get(path);
  if (own !== undefined) return own;
  for (const file of files) {
    const location = pinned.get(file);
    if (location === undefined || !file.startsWith(`${path}/`)) continue;
    let up = location;
    for (let depth = file.slice(path.length).split('/').length - 1; depth > 0; depth--) up = dirname(up);
    return up;
  }
  return undefined;
}

/**
 * Remove the file (or, with `directory`, the empty directory) at `path` only if it is where `location` says: the
 * parent directory is opened, checked on its descriptor, and the removal goes through that descriptor
 * (`/proc/self/fd/<fd>/<name>` is resolved from the opened directory itself, as unlinkat(2) does), so a directory on
 * the path swapped for a symlink at any moment, between a check and the removal included, can never lead it
 * elsewhere (L7). Blocking (see the header).
 * @returns 'removed'; 'absent' when there was nothing to remove (ENOENT anywhere on the path); 'moved' when the path
 *   now leads elsewhere (nothing removed). Other errors are thrown (ENOTEMPTY for a directory a caller filled, say).
 */
export function removeAtLocation(path: string, location: string, directory = false): 'removed' | 'absent' | 'moved' {
  let dirFd: number;
  try {
    dirFd = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'ENOTDIR') return 'moved';
    // At the descriptor limit a delete must still go through (it frees descriptors, and one that failed half-way
    // would leave its sandbox without a namespace): the path is checked, then removed by name, as before the pins.
    if (code === 'EMFILE' || code === 'ENFILE') return removeByName(path, location, directory);
    throw err;
  }
  try {
    if (basename(path) !== basename(location) || openedAt(dirFd) !== dirname(location)) return 'moved';
    const through = `/proc/self/fd/${dirFd}/${basename(path)}`;
    try {
      if (directory) rmdirSync(through);
      else unlinkSync(through);
    } catch (err) {
      if (absent(through, err)) return 'absent';
      throw err;
    }
    return 'removed';
  } finally {
    closeSync(dirFd);
  }
}

/** removeAtLocation without a descriptor: the location checked, then the name removed (a swap in between is not seen). */
function removeByName(path: string, location: string, directory: boolean): 'removed' | 'absent' | 'moved' {
  try {
    if (realLocation(path) !== location) return 'moved';
    if (directory) rmdirSync(path);
    else unlinkSync(path);
    return 'removed';
  } catch (err) {
    if (absent(path, err)) return 'absent';
    throw err;
  }
}

/**
 * Whether a removal that failed with `err` found nothing to remove: ENOENT, or a check of its own when the file
 * system answered first with something else (a read-only one says EROFS before it looks the name up).
 */
function absent(path: string, err: unknown): boolean {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
  try {
    lstatSync(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function moved(path: string, now: string, want: string): UnsafeFileError {
  return new UnsafeFileError('ERR_FILE_PATH', path, `now leads to ${now}, not to ${want} where it led when sandns took it (a directory on the path was replaced, by a symlink say); sandns does not follow it`);
}

/**
 * Open a managed file: O_NOFOLLOW (a symlink is refused, ERR_FILE_SYMLINK) and O_NONBLOCK, then anything but a
 * regular file is refused (ERR_FILE_NOT_REGULAR): a FIFO or device put at the path later must never block the
 * daemon's event loop; a pinned path must have led where it did (ERR_FILE_PATH). Blocking (see the header).
 */
function openRegular(path: string, flags: number, mode?: number): number {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw notRegular(path, err);
    refuseSymlink(path, err);
  }
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  if (!regular) throw notRegular(path);
  const want = pinned.get(path);
  if (want !== undefined) {
    const now = openedAt(fd);
    if (now !== want) {
      closeSync(fd);
      throw moved(path, now, want);
    }
  }
  return fd;
}

function notRegular(path: string, cause?: unknown): UnsafeFileError {
  return new UnsafeFileError('ERR_FILE_NOT_REGULAR', path, 'is not a regular file (sandns reads and writes only regular files here)', { cause });
}

/** Read a whole file without following a symlink at `path` (ERR_FILE_SYMLINK, ERR_FILE_NOT_REGULAR). Blocking (see the header). */
export function readNoFollowSync(path: string): Buffer {
  const fd = openRegular(path, constants.O_RDONLY);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const fsyncAsync = promisify(fsync);

const tails = new Map<string, Promise<void>>();

/**
 * Run `task` after every task queued earlier for the same path has settled
 * (H4; Docker's per-path lock, in-process only).
 */
export function serializeOnPath<T>(path: string, task: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(() => task());
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}

/** How to open a file for an in-place write. */
export interface InPlaceOptions {
  /** Create the file (and its parent directory, 0755) when missing. */
  create: boolean;
  /** Mode of a newly created file (umask not applied); an existing file keeps its mode. */
  mode: number;
}

/** Open for read-write without truncating; create with `mode` when asked. Blocking. */
function openForWriteSync(path: string, opts: InPlaceOptions): number {
  try {
    return openRegular(path, constants.O_RDWR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.create) throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let fd: number;
  try {
    // O_EXCL with O_CREAT never follows a symlink either (open(2)).
    fd = openRegular(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, opts.mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return openRegular(path, constants.O_RDWR);
  }
  try {
    fchmodSync(fd, opts.mode);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * One write of the whole content at offset 0, then the old tail cut: a crash of the writer never leaves the file
 * empty. When the content is shorter than before, the same write overwrites the old tail with newlines, so a reader
 * between the write and the cut sees blank lines, never the fragment of an old line (`d00:2::2 web`, left of
 * `fd00:2::2 web`, is an address too).
 */
function replaceContent(fd: number, content: Buffer): void {
  const before = fstatSync(fd).size;
  const data = before > content.length ? Buffer.concat([content, Buffer.alloc(before - content.length, 0x0a)]) : content;
  let done = writeSync(fd, data, 0, data.length, 0);
  // A regular-file write is whole in practice; finish a short one rather than lose data.
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, done);
  ftruncateSync(fd, content.length);
}

const toBuffer = (content: string | Buffer): Buffer => (typeof content === 'string' ? Buffer.from(content, 'utf8') : content);

/**
 * Replace a file's content in place (H4), without fsync: for a sandbox's own hosts and resolv.conf, which serve a
 * namespace that a reboot ends while the page cache keeps them across the daemon's death (Docker does not sync them
 * either). Blocking: a handful of system calls on a small file, see the header. The inode never changes.
 */
export function writeInPlaceSync(path: string, content: string | Buffer, opts: InPlaceOptions): void {
  const fd = openForWriteSync(path, opts);
  try {
    replaceContent(fd, toBuffer(content));
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace a file's content in place (H4) and fsync it: as writeInPlaceSync, then the flush to disk (the slow part,
 * milliseconds) on libuv's thread pool, for files that must outlive the machine's uptime (a kept original, L7).
 */
export async function writeInPlace(path: string, content: string | Buffer, opts: InPlaceOptions): Promise<void> {
  const fd = openForWriteSync(path, opts);
  try {
    replaceContent(fd, toBuffer(content));
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}
