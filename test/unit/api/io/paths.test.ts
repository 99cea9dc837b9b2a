/**
 * M1 of the API review: the socket server routes the path as sent. Empty and
 * dot segments (also %-encoded) and a leading `//` are refused with 400
 * ERR_API_BAD_PATH, never normalised onto another object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi, parseTarget, pathSegments, startApiServer, type ApiServer } from '../../../../api/index.js';
import { silentLogger } from '../../../../common/log.js';
import { FakeController } from '../routes-fake.js';

let dir: string;
let server: ApiServer;
const controller = new FakeController();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-api-paths-'));
  server = await startApiServer({ socketPath: join(dir, 'api.sock'), logger: silentLogger(), handle: createApi({ controller, logger: silentLogger() }) });
  await controller.newSandbox('key');
});

afterAll(async () => {
  await server?.close(100);
  await rm(dir, { recursive: true, force: true });
});

/** One request with the target written as given (node:http sends it verbatim). */
function raw(method: string, path: string): Promise<{ status: number; code: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: server.socketPath, method, path, agent: false }, (r) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, code: text === '' ? undefined : (JSON.parse(text) as { code?: unknown }).code }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('M1 paths are routed as sent', () => {
  it.each([
    '/sandboxes//key', '/sandboxes/./key', '/sandboxes/%2e/key', '/sandboxes/%2E%2e/sandboxes/key', '/sandboxes/x/../key',
    '//sandboxes/key', '/sandboxes/key/', '/./sandboxes/key',
  ])('M1 DELETE %s is 400 ERR_API_BAD_PATH and deletes nothing', async (path) => {
    expect(await raw('DELETE', path)).toEqual({ status: 400, code: 'ERR_API_BAD_PATH' });
    expect(controller.sandbox('key').deleted).toBe(false);
  });

  it('M1 GET //sandboxes/key is refused, not routed as /key (404)', async () => {
    expect(await raw('GET', '//sandboxes/key')).toEqual({ status: 400, code: 'ERR_API_BAD_PATH' });
  });

  it('M1 a name with a dot inside it, or %-encoded dots that are not a whole dot segment, still routes', async () => {
    await controller.newSandbox('a.b');
    expect(await raw('GET', '/sandboxes/a.b')).toEqual({ status: 200, code: undefined });
    expect(await raw('GET', '/sandboxes/a%2Eb')).toEqual({ status: 200, code: undefined });
    expect(await raw('GET', '/sandboxes/...')).toEqual({ status: 404, code: 'ERR_SANDBOX_NOT_FOUND' });
  });

  it('M1 an absolute-form target keeps its path as sent; / alone is no route', async () => {
    expect(await raw('GET', 'http://sandns/sandboxes/key')).toEqual({ status: 200, code: undefined });
    expect(await raw('DELETE', 'http://sandns/sandboxes/./key')).toEqual({ status: 400, code: 'ERR_API_BAD_PATH' });
    expect(await raw('GET', '/')).toEqual({ status: 404, code: 'ERR_API_NOT_FOUND' });
  });
});

describe('M1 parseTarget and pathSegments', () => {
  it('M1 the query is split off; the path keeps its %-encoding', () => {
    const t = parseTarget('/records?network=a%20b');
    expect(t.path).toBe('/records');
    expect(t.query.get('network')).toBe('a b');
    expect(parseTarget('/sandboxes/a%2Fb').path).toBe('/sandboxes/a%2Fb');
    expect(pathSegments('/sandboxes/a%2Fb')).toEqual(['sandboxes', 'a%2Fb']);
  });

  it('M1 a target that is not a path is refused', () => {
    expect(() => pathSegments(parseTarget('*').path)).toThrow(expect.objectContaining({ code: 'ERR_API_BAD_PATH' }));
  });
});
