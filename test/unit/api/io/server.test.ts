/**
 * startApiServer's socket path (H3, L5 of the API review): only a stale socket
 * is ever removed; a live, busy or unknown one and anything that is not a
 * socket is refused and left as it is; a directory others could write is
 * refused.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, Server as NetServer, type Socket } from 'node:net';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../../../api/index.js';
import { silentLogger } from '../../../../common/log.js';

const made: { dir?: string; server?: ApiServer; child?: ChildProcess; sockets: Socket[] } = { sockets: [] };

afterEach(async () => {
  for (const s of made.sockets) s.destroy();
  made.sockets = [];
  if (made.child?.pid !== undefined && made.child.exitCode === null && made.child.signalCode === null) process.kill(made.child.pid, 'SIGKILL');
  await made.server?.close(100);
  if (made.dir !== undefined) await rm(made.dir, { recursive: true, force: true });
  Object.assign(made, { dir: undefined, server: undefined, child: undefined });
});

async function scratch(): Promise<string> {
  made.dir = await mkdtemp(join(tmpdir(), 'sandns-api-socket-'));
  await chmod(made.dir, 0o755);
  return made.dir;
}

const start = (socketPath: string): Promise<ApiServer> =>
  startApiServer({ socketPath, logger: silentLogger(), handle: () => Promise.resolve({ status: 200, body: {} }) });

/** Run `code` in python3 with the socket path as argv[1]; resolves once it printed a line (its socket is ready). */
function python(code: string, path: string): Promise<void> {
  made.child = spawn('python3', ['-c', code, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    made.child!.stdout!.once('data', () => resolve());
    made.child!.once('exit', (c) => reject(new Error(`python exited ${c}`)));
  });
}

function connectCode(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    made.sockets.push(s);
    s.once('connect', () => resolve(undefined));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

describe('H3 the daemon never deletes what is not a stale socket', () => {
  it('H3 a regular file at --socket is refused (ERR_API_SOCKET_PATH) and kept', async () => {
    const path = join(await scratch(), 'important.db');
    await writeFile(path, 'precious\n');
    await expect(start(path)).rejects.toMatchObject({ code: 'ERR_API_SOCKET_PATH', status: 409 });
    expect(await readFile(path, 'utf8')).toBe('precious\n');
  });

  it('H3 a directory or a symlink at --socket is refused and kept', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'target'), 'x');
    await symlink(join(dir, 'target'), join(dir, 'link'));
    for (const name of ['d', 'link']) {
      await expect(start(join(dir, name))).rejects.toMatchObject({ code: 'ERR_API_SOCKET_PATH' });
      await lstat(join(dir, name));
    }
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('x');
  });

  it('H3 a stale socket (its listener killed) is replaced', async () => {
    const path = join(await scratch(), 'api.sock');
    await python('import socket,sys,os,signal\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(1)\nprint("up",flush=True)\nos.kill(os.getpid(),signal.SIGKILL)', path);
    await new Promise((r) => made.child!.once('exit', r));
    expect((await lstat(path)).isSocket()).toBe(true);
    made.server = await start(path);
    expect(await connectCode(path)).toBeUndefined();
  });

  it('H3 a live listener whose backlog is full (EAGAIN) is in use, and its socket stays', async () => {
    const path = join(await scratch(), 'api.sock');
    await python('import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(0)\nprint("up",flush=True)\ntime.sleep(60)', path);
    let code: string | undefined;
    for (let i = 0; i < 20 && code === undefined; i++) code = await connectCode(path);
    expect(code).toBe('EAGAIN');
    await expect(start(path)).rejects.toMatchObject({ code: 'ERR_API_SOCKET_IN_USE' });
    expect((await lstat(path)).isSocket()).toBe(true);
  });
});

describe('L5 the socket directory must be root-only', () => {
  it('L5 a group- or other-writable directory is refused (ERR_API_SOCKET_DIR_UNSAFE)', async () => {
    const dir = join(await scratch(), 'run');
    await mkdir(dir);
    for (const mode of [0o777, 0o775, 0o1777]) {
      await chmod(dir, mode);
      await expect(start(join(dir, 'api.sock'))).rejects.toMatchObject({ code: 'ERR_API_SOCKET_DIR_UNSAFE', status: 409 });
    }
  });

  it.skipIf(process.geteuid?.() !== 0)('L5 a directory owned by another user is refused', async () => {
    const dir = join(await scratch(), 'run');
    await mkdir(dir, { mode: 0o755 });
    await chown(dir, 65534, 65534);
    await expect(start(join(dir, 'api.sock'))).rejects.toMatchObject({ code: 'ERR_API_SOCKET_DIR_UNSAFE' });
  });

  it('L5 a missing directory is created 0755 and used', async () => {
    const dir = join(await scratch(), 'a', 'b');
    made.server = await start(join(dir, 'api.sock'));
    expect((await lstat(dir)).mode & 0o777).toBe(0o755);
  });

  it('the socket is made 0600 under a narrowed umask, and the process umask is back before any other code runs (it is process-wide)', async () => {
    const path = join(await scratch(), 'api.sock');
    const umask = (): number => {
      const m = process.umask(0);
      process.umask(m);
      return m;
    };
    const before = umask();
    const seen: number[] = [];
    const listen = NetServer.prototype.listen;
    // Whatever runs next in this process (a promise job of a restore writing files, say) sees this umask.
    const spy = vi.spyOn(NetServer.prototype, 'listen').mockImplementation(function (this: NetServer, ...args: unknown[]) {
      const out = (listen as (...a: unknown[]) => NetServer).apply(this, args);
      queueMicrotask(() => seen.push(umask()));
      return out;
    });
    try {
      made.server = await start(path);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual([before]);
    expect(umask()).toBe(before);
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
  });
});
