/**
 * The plugin's io: the API client over a unix socket (an unreachable socket
 * is code 11; any HTTP answer is returned) and the deferred-records directory
 * (atomic writes, per-sandbox listing, removal).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDaemonClient, deferredStoreFor } from '../../../cni/index.js';
import { delRecord } from '../../../cni/pending.js';

let dir = '';
let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('API client', () => {
  it('K9 a missing socket and a refused one are code 11 naming the socket', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-cni-io-'));
    const missing = createDaemonClient(join(dir, 'none.sock'));
    await expect(missing.request('GET', '/healthz')).rejects.toMatchObject({ cniCode: 11, code: 'ERR_CNI_DAEMON_UNREACHABLE', message: expect.stringContaining('none.sock') });
    await writeFile(join(dir, 'stale.sock'), '');
    await expect(createDaemonClient(join(dir, 'stale.sock')).request('GET', '/healthz')).rejects.toMatchObject({ cniCode: 11 });
  });

  it('K11 any HTTP answer is returned with its parsed body; a body that is not JSON is code 100', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-cni-io-'));
    const sock = join(dir, 'api.sock');
    server = createServer((req, res) => {
      if (req.url === '/bad') return void res.end('<html>');
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'ERR_NETWORK_NOT_FOUND', message: 'no' }));
    });
    await new Promise<void>((r) => server!.listen(sock, r));
    const c = createDaemonClient(sock);
    expect(await c.request('GET', '/networks/x')).toEqual({ status: 404, body: { code: 'ERR_NETWORK_NOT_FOUND', message: 'no' } });
    await expect(c.request('GET', '/bad')).rejects.toMatchObject({ cniCode: 100 });
  });

  it('K9 K11 issue-review-3 an exchange that breaks after connecting (reset) is code 11 with httpStatus 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-cni-io-'));
    const sock = join(dir, 'api.sock');
    server = createServer((req) => req.socket.destroy());
    await new Promise<void>((r) => server!.listen(sock, r));
    await expect(createDaemonClient(sock).request('POST', '/networks/n/disconnect', { sandbox: 'a' })).rejects.toMatchObject({ cniCode: 11, httpStatus: 0, code: 'ERR_CNI_DAEMON' });
  });
});

describe('deferred store', () => {
  it('K9 writes atomically beside the socket, lists by sandbox, removes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-cni-io-'));
    const store = deferredStoreFor(join(dir, 'api', 'sandns.sock'));
    expect(store.dir).toBe(join(dir, 'api', 'deferred'));
    expect(await store.listFor('a')).toEqual([]);
    await store.write('a--eth0', delRecord('a', 'n', 'eth0', new Date(0)));
    await store.write('b--eth0', delRecord('b', 'n', 'eth0', new Date(0)));
    expect((await store.listFor('a')).map((r) => r.key)).toEqual(['a--eth0']);
    expect((await readdir(store.dir)).sort()).toEqual(['a--eth0.json', 'b--eth0.json']);
    await store.remove('a--eth0');
    await store.remove('a--eth0');
    expect(await readdir(store.dir)).toEqual(['b--eth0.json']);
  });
});
