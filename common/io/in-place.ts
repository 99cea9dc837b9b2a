/**
 * In-place file writes and per-path queues (H4, C4; as Docker). The file may be
 * bind-mounted into a container, so it is never replaced by a rename: the
 * inode is kept, the whole content goes out in one write call, then fsync
 * unless the caller says the file does not outlive the machine's uptime.
 */
import { constants, promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UnsafeFileError } from '../errors.js';

/**
 * Flags of every open of a managed file: O_NOFOLLOW, so a symlink planted at
 * the path (`/etc/netns/<name>/hosts -> /etc/shadow`) is refused with ELOOP
 * instead of its target being written as root (L7).
 */
const RW = constants.O_RDWR | constants.O_NOFOLLOW;

/** ELOOP from an O_NOFOLLOW open means a symlink sits at the path: a typed refusal. */
function refuseSymlink(path: string, err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
    throw new UnsafeFileError('ERR_FILE_SYMLINK', path, 'is a symbolic link; sandns does not write through symlinks (remove it, or give another path)', { cause: err });
  }
  throw err;
}

/** Read a whole file without following a symlink at `path` (ERR_FILE_SYMLINK). */
export async function readNoFollow(path: string): Promise<Buffer> {
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => refuseSymlink(path, err));
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

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
  /**
   * fsync after the write (default true). False for a sandbox's own hosts and resolv.conf (H4): they serve a
   * namespace that a reboot ends, and the page cache keeps them across the daemon's death, so a sync would only
   * add a disk flush (~1 ms, more under load) to every create and connect. Docker does not sync them either.
   */
  sync?: boolean;
}

/** Open for read-write without truncating; create with `mode` when asked. */
async function openForWrite(path: string, opts: InPlaceOptions): Promise<fs.FileHandle> {
  try {
    return await fs.open(path, RW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.create) refuseSymlink(path, err);
  }
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  try {
    // O_EXCL with O_CREAT never follows a symlink either (open(2)).
    const handle = await fs.open(path, RW | constants.O_CREAT | constants.O_EXCL, opts.mode);
    await handle.chmod(opts.mode);
    return handle;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.open(path, RW).catch((e: unknown) => refuseSymlink(path, e));
  }
}

/**
 * Replace a file's content in place (H4): one write of the whole content at
 * offset 0, then the old tail is cut, then fsync (unless `opts.sync` is
 * false). Writing before truncating means a crash of the writer can never
 * leave the file empty; the inode never changes.
 */
export async function writeInPlace(path: string, content: string | Buffer, opts: InPlaceOptions): Promise<void> {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const handle = await openForWrite(path, opts);
  try {
    let done = (await handle.write(data, 0, data.length, 0)).bytesWritten;
    // A regular-file write is whole in practice; finish a short one rather than lose data.
    while (done < data.length) done += (await handle.write(data, done, data.length - done, done)).bytesWritten;
    await handle.truncate(data.length);
    if (opts.sync !== false) await handle.sync();
  } finally {
    await handle.close();
  }
}
