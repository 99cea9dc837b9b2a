/**
 * The daemon's replay of deferred requests at start (the CNI plugin's DEL
 * while it was down): through the API in process, applied records removed,
 * failing ones kept for the next start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayDeferred } from '../../../bin/daemon/deferred.js';
import { delRecord } from '../../../cni/pending.js';
import type { ApiRequest, ApiResponse } from '../../../api/index.js';
import { sinkLogger } from '../api/routes-fake.js';

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('deferred replay', () => {
  it('K9 replays each record in order, removes the applied ones and keeps a failing one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-deferred-'));
    const socket = join(dir, 'sandns.sock');
    await mkdir(join(dir, 'deferred'));
    await writeFile(join(dir, 'deferred', 'a--eth0.json'), JSON.stringify(delRecord('a', 'n1', 'eth0', new Date(0))));
    await writeFile(join(dir, 'deferred', 'b--eth0.json'), JSON.stringify(delRecord('b', 'n1', 'eth0', new Date(0))));
    await writeFile(join(dir, 'deferred', 'junk.json'), '{');
    const seen: string[] = [];
    const api = async (req: ApiRequest): Promise<ApiResponse> => {
      seen.push(`${req.method} ${req.path}${req.query.size > 0 ? `?${req.query}` : ''}`);
      if (req.path === '/sandboxes/b') return { status: 500, body: { code: 'ERR_API_INTERNAL' } };
      if (req.path.endsWith('/disconnect')) return { status: 404, body: { code: 'ERR_ENDPOINT_NOT_FOUND' } };
      return { status: 200, body: {} };
    };
    const { logger, lines } = sinkLogger();
    const report = await replayDeferred(socket, api, logger);
    expect(report).toEqual({ applied: ['a--eth0'], failed: ['b--eth0'] });
    expect(seen).toEqual(['POST /networks/n1/disconnect', 'DELETE /sandboxes/a?ifEmpty=true', 'POST /networks/n1/disconnect', 'DELETE /sandboxes/b?ifEmpty=true']);
    expect((await readdir(join(dir, 'deferred'))).sort()).toEqual(['b--eth0.json', 'junk.json']);
    expect(lines.some((l) => l.msg === 'deferred request failed: kept for the next start')).toBe(true);
  });

  it('K9 no directory is nothing to do', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandns-deferred-'));
    expect(await replayDeferred(join(dir, 'sandns.sock'), async () => ({ status: 200 }), sinkLogger().logger)).toEqual({ applied: [], failed: [] });
  });
});
