/**
 * The daemon API's transport over a unix socket: any answer resolves with its
 * status and text; no answer rejects with why (unreachable, timeout).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixHttpRequest, UnixHttpError } from '../../../../common/io/unix-http.js';

let dir: string | undefined;
let server: Server | undefined;

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'sandns-unix-http-'));
  const socket = join(dir, 'api.sock');
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(socket, r));
  return socket;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  server = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('unixHttpRequest', () => {
  it('sends the body as JSON and resolves with any answer, errors included', async () => {
    const socket = await serve((req, res) => {
      let got = '';
      req.on('data', (c: Buffer) => (got += c.toString()));
      req.on('end', () => {
        res.statusCode = req.url === '/bad' ? 409 : 200;
        res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'], got }));
      });
    });
    const ok = await unixHttpRequest(socket, 'POST', '/x', { a: 1 }, 5000);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ method: 'POST', type: 'application/json', got: '{"a":1}' });
    const bad = await unixHttpRequest(socket, 'GET', '/bad', undefined, 5000);
    expect(bad.status).toBe(409);
    expect(JSON.parse(bad.text)).toMatchObject({ got: '' });
  });

  it('a missing socket is unreachable, with a reason that says what to do', async () => {
    const err = await unixHttpRequest('/nonexistent/sandns.sock', 'GET', '/', undefined, 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnixHttpError);
    expect(err).toMatchObject({ kind: 'unreachable', code: 'ENOENT', reason: expect.stringContaining('is the daemon running?') });
  });

  it('a path that is not a socket (a regular file, a directory) is named as such, not as a stale socket of a stopped daemon', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-unix-http-'));
    await writeFile(join(dir, 'file'), '');
    for (const [path, what] of [[join(dir, 'file'), 'a regular file'], [dir, 'a directory']] as const) {
      const err = await unixHttpRequest(path, 'GET', '/', undefined, 5000).catch((e: unknown) => e);
      expect(err, path).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED', reason: `${path} is ${what}, not a socket: give the daemon's API socket (--socket or SANDNS_SOCKET)` });
    }
  });

  it('L7 the timeout is a deadline for the whole exchange: an answer trickled byte by byte is cut off at it', async () => {
    const socket = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = setInterval(() => (res.destroyed ? clearInterval(tick) : res.write('.')), 50);
      res.once('close', () => clearInterval(tick));
    });
    const started = Date.now();
    const err = await Promise.race([
      unixHttpRequest(socket, 'GET', '/', undefined, 300).catch((e: unknown) => e),
      new Promise((r) => setTimeout(() => r('still waiting after 2 s'), 2_000)),
    ]);
    expect(err).toMatchObject({ kind: 'timeout', reason: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a server that never answers is a timeout', async () => {
    const socket = await serve(() => undefined);
    const err = await unixHttpRequest(socket, 'GET', '/', undefined, 200).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', reason: 'no answer within 200 ms' });
  });
});
