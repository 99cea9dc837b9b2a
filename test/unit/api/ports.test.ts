import { describe, expect, it } from 'vitest';
import { createApi, type ApiResponse } from '../../../api/index.js';
import { FakeController, sinkLogger } from './routes-fake.js';

async function setup() {
  const controller = new FakeController();
  const api = createApi({ controller, logger: sinkLogger().logger });
  const call = (method: string, path: string, body?: unknown): Promise<ApiResponse> => api({ method, path, query: new URLSearchParams(), body });
  await call('POST', '/networks', { name: 'n1' });
  await call('POST', '/sandboxes', { name: 'web' });
  return { controller, call };
}

describe('network stack: connect body and the port/stats routes', () => {
  it('publish, expose, macAddress, priority, links and disableResolution reach createEndpoint in the library\'s shape', async () => {
    const { controller, call } = await setup();
    const r = await call('POST', '/networks/n1/connect', {
      sandbox: 'web', publish: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], expose: [{ port: 53, protocol: 'udp' }, { port: 9000 }],
      macAddress: '02:42:00:00:00:01', priority: 3, links: ['db:database'], disableResolution: true,
    });
    expect(r.status).toBe(201);
    const created = JSON.parse(controller.network('n1').log.find((l) => l.startsWith('create web '))!.slice('create web '.length)) as Record<string, unknown>;
    expect(created).toEqual({
      publish: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], ports: [{ port: 53, proto: 'udp' }, { port: 9000, proto: 'tcp' }],
      links: { database: 'db' }, macAddress: '02:42:00:00:00:01', disableResolution: true, joinedOnly: true,
    });
  });

  it.each([
    [{ publish: 'x' }, 'publish'], [{ expose: [5] }, 'expose'], [{ expose: [{ port: 1, proto: 'tcp' }] }, 'expose'], [{ macAddress: 5 }, 'macAddress'],
    [{ links: [3] }, 'links'], [{ links: ['a:b:c'] }, 'links'], [{ links: [''] }, 'links'], [{ links: { a: 1 } }, 'links'], [{ disableResolution: 'yes' }, 'disableResolution'], [{ ports: [] }, 'ports'],
  ])('%j is a 400 naming the field', async (extra, field) => {
    const { call } = await setup();
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'web', ...extra });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'ERR_INVALID_OPTION', details: { field } });
  });

  it('GET /sandboxes/:name/stats answers {sandbox, interfaces: [{network, ifname, rx…, tx…}]}', async () => {
    const { call } = await setup();
    await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    const r = await call('GET', '/sandboxes/web/stats');
    expect(r.body).toEqual({ sandbox: 'web', interfaces: [{ network: 'n1', ifname: 'eth0', rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 2, txPackets: 2, txErrors: 0, txDropped: 0 }] });
    expect((await call('GET', '/sandboxes/nope/stats')).status).toBe(404);
  });

  it('GET /sandboxes/:name/ports lists each published port with its network and endpoint', async () => {
    const { call } = await setup();
    const r = await call('GET', '/sandboxes/web/ports');
    expect(r.body).toEqual({ sandbox: 'web', ports: [] });
  });
});
