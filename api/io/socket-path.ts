/**
 * Making the API socket's path ready before listen(2): its directory must be
 * one only root can change, and whatever is at the path is removed only when
 * it is provably a stale socket (a unix socket nobody listens on).
 */
import { createConnection } from 'node:net';
import { lstat, mkdir, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ApiSocketDirUnsafeError, ApiSocketInUseError, ApiSocketPathError } from '../errors.js';
import { fileKind } from '../../common/io/unix-http.js';

/** What a connect to an existing socket file found: someone listens, nobody does, or an error that proves neither. */
type Probe = { kind: 'live' } | { kind: 'stale' } | { kind: 'unknown'; code: string };

function probeSocket(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve({ kind: 'live' });
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED on a socket file: no listener (unix(7)); ENOENT: it went away meanwhile.
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve({ kind: 'stale' });
      // EAGAIN: a listener whose backlog is full, i.e. a live, busy daemon.
      else if (err.code === 'EAGAIN') resolve({ kind: 'live' });
      else resolve({ kind: 'unknown', code: err.code ?? String(err) });
    });
  });
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The socket's directory, created (0755, with its parents) when missing. An
 * existing one (followed if a symlink) must be a directory owned by root (or
 * by the daemon's own uid, when not root) and not group- or other-writable:
 * whoever may write it can swap the socket and pose as the daemon to the root
 * CLI and hook. Throws ERR_API_SOCKET_DIR_UNSAFE.
 */
async function checkSocketDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const st = await stat(dir);
  const self = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw new ApiSocketDirUnsafeError(dir, 'is not a directory');
  if (st.uid !== 0 && st.uid !== self) throw new ApiSocketDirUnsafeError(dir, `is owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o022) !== 0) throw new ApiSocketDirUnsafeError(dir, `is group- or other-writable (mode ${(st.mode & 0o7777).toString(8)})`);
}

/**
 * Make `path` free for listen(2). Nothing there: fine. A socket that refuses
 * connections (ECONNREFUSED): stale, unlinked. A socket that answers (or is
 * too busy to: EAGAIN): ERR_API_SOCKET_IN_USE. Anything else (a regular file,
 * directory, symlink, FIFO, or a socket whose connect fails otherwise):
 * ERR_API_SOCKET_PATH, and the path is left as it is. Throws
 * ERR_API_SOCKET_DIR_UNSAFE for the directory (checkSocketDir).
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await checkSocketDir(dirname(path));
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (!st.isSocket()) throw new ApiSocketPathError(path, `is ${fileKind(st)}, not a socket: sandns never removes it; give another --socket (or move it away yourself)`);
  const probe = await probeSocket(path);
  if (probe.kind === 'live') throw new ApiSocketInUseError(path);
  if (probe.kind === 'unknown') throw new ApiSocketPathError(path, `a socket whose connect fails with ${probe.code} (not provably stale): remove it yourself, or give another --socket`);
  await rm(path, { force: true });
}
