/**
 * M6 of the API review: shutdown waits for the handlers in flight (so the
 * controller is never closed under a running mutation), and a request that
 * arrives once shutdown has begun is 503 ERR_CONTROLLER_CLOSED.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../../../api/index.js';
import { silentLogger } from '../../../../common/log.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<'timer'> => new Promise((r) => setTimeout(() => r('timer'), ms));

describe('M6 shutdown and requests in flight', () => {
  it('M6 close() resolves only after the running handler finished; a request arriving meanwhile is 503 ERR_CONTROLLER_CLOSED', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-api-shutdown-'));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let finished = false;
    const server = await startApiServer({
      socketPath: join(dir, 'api.sock'), logger: silentLogger(),
      handle: async (req) => {
        if (req.path === '/slow') {
          entered();
          await released;
          finished = true;
        }
        return { status: 200, body: { path: req.path } };
      },
    });
    // A second request on the same (busy, so still open) connection once shutdown has begun.
    const sock = createConnection(server.socketPath);
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString()));
    const ended = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    await inHandler;
    // A grace period shorter than the wait: the old close cut the connection at it and resolved under the handler.
    const closing = server.close(300).then(() => ({ finished }));
    sock.write('GET /after HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await Promise.race([closing, sleep(800)])).toBe('timer');
    release();
    expect(await closing).toEqual({ finished: true });
    await ended;
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '503']);
    expect(text).toContain('"code":"ERR_CONTROLLER_CLOSED"');
  });
});
