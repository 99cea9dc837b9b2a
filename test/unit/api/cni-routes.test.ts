/**
 * The API pieces the CNI plugin stands on: connect with an endpoint name, an
 * interface name and published ports (shape checked at the edge), the
 * conditional sandbox delete, and the links report.
 */
import { describe, expect, it } from 'vitest';
import { createApi, type ApiResponse } from '../../../api/index.js';
import { checkPublish } from '../../../controller/index.js';
import { FakeController, sinkLogger } from './routes-fake.js';

async function setup() {
  const controller = new FakeController();
  const api = createApi({ controller, logger: sinkLogger().logger });
  const call = (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const url = new URL(path, 'http://x');
    return api({ method, path: url.pathname, query: url.searchParams, body });
  };
  await call('POST', '/networks', { name: 'n1' });
  await call('POST', '/networks', { name: 'n2' });
  await call('POST', '/sandboxes', { name: 'f00dcafe0123' });
  return { controller, call };
}

describe('connect for CNI', () => {
  it('K5 connect names the endpoint `name` (not the sandbox) and joins as `ifname`', async () => {
    const { call, controller } = await setup();
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', name: 'web', aliases: ['www'], ifname: 'net1' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ endpoint: 'web', ifname: 'net1', aliases: ['www'] });
    expect(controller.network('n1').records.entries().map((e) => e.name)).toContain('web');
  });

  it.each([
    [{ publish: 'x' }, 'publish'],
    [{ publish: [{ containerPort: 0 }] }, 'publish[0].containerPort'],
    [{ publish: [{ containerPort: 80, protocol: 'icmp' }] }, 'publish[0].protocol'],
    [{ publish: [{ containerPort: 80, hostPortEnd: 90 }] }, 'publish[0].hostPortEnd'],
    [{ publish: [{ containerPort: 80, hostPort: 100, hostPortEnd: 90 }] }, 'publish[0].hostPortEnd'],
    [{ publish: [{ containerPort: 80, hostIP: '1.2.3.4' }] }, 'publish[0].hostIP'],
    [{ ifname: '' }, 'ifname'],
  ])('K12 a malformed connect body %j is 400 ERR_INVALID_OPTION naming %s', async (extra, field) => {
    const { call } = await setup();
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', ...extra });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'ERR_INVALID_OPTION', details: { field } });
  });

  it('K12 well-formed published ports reach the controller as checked specs', async () => {
    const { call, controller } = await setup();
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', publish: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(r.status).toBe(201);
    expect(controller.network('n1').endpoints.size).toBe(1);
  });

  it('K12 checkPublish keeps ranges and defaults the protocol to tcp', () => {
    expect(checkPublish([{ hostPort: 8000, hostPortEnd: 8010, containerPort: 80 }])).toEqual([{ hostPort: 8000, hostPortEnd: 8010, containerPort: 80, protocol: 'tcp' }]);
    expect(checkPublish(undefined)).toEqual([]);
  });
});

describe('conditional delete and links', () => {
  it('K8 DELETE ?ifEmpty=true is 409 ERR_SANDBOX_IN_USE while a network holds the sandbox, naming it; then deletes', async () => {
    const { call, controller } = await setup();
    await call('POST', '/networks/n2/connect', { sandbox: 'f00dcafe0123', name: 'web' });
    const r = await call('DELETE', '/sandboxes/f00dcafe0123?ifEmpty=true');
    expect(r).toMatchObject({ status: 409, body: { code: 'ERR_SANDBOX_IN_USE', details: { networks: ['n2'] } } });
    expect(controller.sandbox('f00dcafe0123').deleted).toBe(false);
    await call('POST', '/networks/n2/disconnect', { sandbox: 'f00dcafe0123' });
    expect((await call('DELETE', '/sandboxes/f00dcafe0123?ifEmpty=true')).status).toBe(200);
    expect(controller.sandbox('f00dcafe0123').deleted).toBe(true);
  });

  it('K7 GET /sandboxes/:name/links reports each joined endpoint', async () => {
    const { call } = await setup();
    await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', name: 'web', ifname: 'eth3' });
    expect((await call('GET', '/sandboxes/f00dcafe0123/links')).body).toEqual([{ network: 'n1', ifname: 'eth3', problems: [] }]);
    expect((await call('GET', '/sandboxes/nope/links')).status).toBe(404);
  });
});

describe('disconnect for CNI DEL', () => {
  it('K8 issue-review-5 with ifname only the endpoint joined under that interface goes; another is 404 and stays', async () => {
    const { call, controller } = await setup();
    await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', name: 'web', ifname: 'eth0' });
    const other = await call('POST', '/networks/n1/disconnect', { sandbox: 'f00dcafe0123', ifname: 'eth1' });
    expect(other).toMatchObject({ status: 404, body: { code: 'ERR_ENDPOINT_NOT_FOUND' } });
    expect(controller.network('n1').endpoints.size).toBe(1);
    expect(await call('POST', '/networks/n1/disconnect', { sandbox: 'f00dcafe0123', ifname: 'eth0' })).toMatchObject({ status: 200 });
    expect(controller.network('n1').endpoints.size).toBe(0);
    await call('POST', '/networks/n1/connect', { sandbox: 'f00dcafe0123', name: 'web', ifname: 'eth3' });
    expect(await call('POST', '/networks/n1/disconnect', { sandbox: 'f00dcafe0123' })).toMatchObject({ status: 200 }); // without ifname: any
    expect(await call('POST', '/networks/n1/disconnect', { sandbox: 'f00dcafe0123', ifname: '' })).toMatchObject({ status: 400, body: { code: 'ERR_INVALID_OPTION' } });
  });
});
