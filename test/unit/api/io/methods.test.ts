/**
 * L2 of the API review (RFC 9110 §9.3.2, §9.3.7, §15.5.6): HEAD is served
 * wherever GET is, without a body; OPTIONS answers the path's methods; a 405
 * carries Allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi, startApiServer, type ApiServer } from '../../../../api/index.js';
import { silentLogger } from '../../../../common/log.js';
import { FakeController } from '../routes-fake.js';

let dir: string;
let server: ApiServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-api-methods-'));
  const controller = new FakeController();
  server = await startApiServer({ socketPath: join(dir, 'api.sock'), logger: silentLogger(), handle: createApi({ controller, logger: silentLogger() }) });
  await controller.newSandbox('web');
});

afterAll(async () => {
  await server?.close(100);
  await rm(dir, { recursive: true, force: true });
});

function raw(method: string, path: string): Promise<{ status: number; allow: string | undefined; length: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: server.socketPath, method, path, agent: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, allow: r.headers.allow, length: r.headers['content-length'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('L2 HEAD, OPTIONS and Allow', () => {
  it('L2 HEAD answers as GET would, with the same length and no body', async () => {
    const get = await raw('GET', '/sandboxes/web');
    const head = await raw('HEAD', '/sandboxes/web');
    expect([head.status, head.length, head.body]).toEqual([200, get.length, '']);
    expect((await raw('HEAD', '/sandboxes/nobody')).status).toBe(404);
  });

  it('L2 OPTIONS is 204 with the path\'s methods in Allow; an unknown path is 404', async () => {
    expect(await raw('OPTIONS', '/networks')).toMatchObject({ status: 204, allow: 'GET, POST, HEAD, OPTIONS', body: '' });
    expect(await raw('OPTIONS', '/sandboxes/web/key')).toMatchObject({ status: 204, allow: 'PUT, DELETE, OPTIONS' });
    expect((await raw('OPTIONS', '/nope')).status).toBe(404);
  });

  it('L2 a 405 carries Allow', async () => {
    const r = await raw('PATCH', '/healthz');
    expect([r.status, r.allow]).toEqual([405, 'GET, HEAD, OPTIONS']);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'ERR_API_METHOD_NOT_ALLOWED' });
  });
});
