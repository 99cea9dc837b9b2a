import { SandnsError } from '../../../common/errors.js';
import { describe, expect, it } from 'vitest';
import { createApi, matchRoute, API_ERROR_CODES, type ApiResponse, type RouteDeps } from '../../../api/index.js';
import { FakeController, sinkLogger } from './routes-fake.js';

function setup(extra: Partial<RouteDeps> = {}) {
  const controller = new FakeController();
  const sink = sinkLogger();
  const api = createApi({ controller, logger: sink.logger, ...extra });
  const call = (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const url = new URL(path, 'http://x');
    return api({ method, path: url.pathname, query: url.searchParams, body });
  };
  return { controller, call, lines: sink.lines };
}

async function withNetAndSandboxes(names: string[] = ['web', 'db']) {
  const s = setup();
  await s.call('POST', '/networks', { name: 'n1' });
  for (const n of names) await s.call('POST', '/sandboxes', { name: n });
  return s;
}

describe('routes: networks', () => {
  it('L1 POST /networks passes the options through once, without undefined fields, and answers 201 with the info', async () => {
    const { call, controller } = setup();
    const r = await call('POST', '/networks', { name: 'n1', subnet: '10.9.0.0/24', internal: true, ttl: 30 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'n1', subnet: '10.9.0.0/24' });
    expect(controller.network('n1').options).toStrictEqual({ subnet: '10.9.0.0/24', internal: true, ttl: 30 });
  });

  it('L1 GET /networks lists and GET /networks/:name inspects (URL-decoded)', async () => {
    const { call } = setup();
    await call('POST', '/networks', { name: 'a.b' });
    expect(((await call('GET', '/networks')).body as { name: string }[]).map((n) => n.name)).toEqual(['a.b']);
    expect((await call('GET', '/networks/a%2Eb')).body).toMatchObject({ name: 'a.b' });
  });

  it('L1 a duplicate name keeps the controller code and HTTP class (409) with {code, message}', async () => {
    const { call } = setup();
    await call('POST', '/networks', { name: 'n1' });
    const r = await call('POST', '/networks', { name: 'n1' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'ERR_NETWORK_EXISTS', message: expect.stringContaining('n1') });
  });

  it('L1 an unknown network is 404 ERR_NETWORK_NOT_FOUND on inspect, rm and connect', async () => {
    const { call } = setup();
    for (const [m, p, b] of [['GET', '/networks/nope'], ['DELETE', '/networks/nope'], ['POST', '/networks/nope/connect', { sandbox: 'x' }]] as const) {
      const r = await call(m, p, b);
      expect([r.status, (r.body as { code: string }).code]).toEqual([404, 'ERR_NETWORK_NOT_FOUND']);
    }
  });

  it('L1 fields are checked at the edge: unknown field, wrong type and missing name are 400 ERR_INVALID_OPTION', async () => {
    const { call } = setup();
    for (const body of [{ name: 'n', subnett: 'x' }, { name: 'n', ttl: '30' }, { name: 'n', internal: 'yes' }, {}, { name: '' }]) {
      const r = await call('POST', '/networks', body);
      expect([r.status, (r.body as { code: string }).code]).toEqual([400, 'ERR_INVALID_OPTION']);
    }
  });

  it('L1 per-network dns servers reach the controller', async () => {
    const { call, controller } = setup();
    const r = await call('POST', '/networks', { name: 'n1', dns: ['10.0.0.53'] });
    expect(r.status).toBe(201);
    expect(controller.network('n1').options).toStrictEqual({ dns: ['10.0.0.53'] });
  });
});

describe('routes: sandboxes, connect, disconnect', () => {
  it('L1 POST /sandboxes maps the fields; the hostname default is the controller\'s (L9)', async () => {
    const { call, controller } = setup();
    const body = { name: 'web', dns: ['10.0.0.2'], dnsSearch: ['x.test'], dnsOptions: ['ndots:2'], extraHosts: [{ name: 'h', ip: '10.1.1.1' }] };
    expect((await call('POST', '/sandboxes', body)).status).toBe(201);
    expect(controller.sandbox('web').options).toStrictEqual({ dns: ['10.0.0.2'], dnsSearch: ['x.test'], dnsOptions: ['ndots:2'], extraHosts: [{ name: 'h', ip: '10.1.1.1' }] });
    await call('POST', '/sandboxes', { name: 'my_box', netnsPath: '/proc/1/ns/net' });
    expect(controller.sandbox('my_box').options).toStrictEqual({ netnsPath: '/proc/1/ns/net' });
  });

  it('L1 connect creates an endpoint named after the sandbox and joins it; records appear (R15)', async () => {
    const { call, controller } = await withNetAndSandboxes();
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'db', aliases: ['database'], ip: '10.9.0.7' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ network: 'n1', sandbox: 'db', endpoint: 'db', ipv4: '10.9.0.7', aliases: ['database'], ifname: 'eth0' });
    expect(controller.network('n1').log).toEqual(['create db {"aliases":["database"],"ip":"10.9.0.7","joinedOnly":true}', 'join db']);
    expect(controller.network('n1').records.lookup('database')?.v4).toEqual(['10.9.0.7']);
  });

  it('L1 G10 a failed join deletes the endpoint it created, and the error reaches the client as a 500 without a stack', async () => {
    const { call, controller, lines } = await withNetAndSandboxes();
    controller.network('n1').failJoin = true;
    const r = await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    expect(r).toEqual({ status: 500, body: { code: 'ERR_API_INTERNAL', message: 'internal error in the daemon (see its log)' } });
    expect(controller.network('n1').endpoints.size).toBe(0);
    expect(controller.network('n1').log).toEqual(['create web {"joinedOnly":true}', 'join web', 'delete web']);
    expect(lines.some((l) => l.level === 50 && (l.err as { message?: string })?.message === 'driver exploded')).toBe(true);
  });

  it('L1 connecting twice is 409 ERR_SANDBOX_ALREADY_ON_NETWORK; an unknown sandbox is 404', async () => {
    const { call } = await withNetAndSandboxes();
    await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    const again = await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    expect([again.status, (again.body as { code: string }).code]).toEqual([409, 'ERR_SANDBOX_ALREADY_ON_NETWORK']);
    const ghost = await call('POST', '/networks/n1/connect', { sandbox: 'ghost' });
    expect([ghost.status, (ghost.body as { code: string }).code]).toEqual([404, 'ERR_SANDBOX_NOT_FOUND']);
  });

  it('L1 disconnect = leave + delete; a sandbox not on the network is 404 ERR_ENDPOINT_NOT_FOUND', async () => {
    const { call, controller } = await withNetAndSandboxes();
    await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    const r = await call('POST', '/networks/n1/disconnect', { sandbox: 'web' });
    expect(r.status).toBe(200);
    expect(controller.network('n1').log.slice(-2)).toEqual(['leave web', 'delete web']);
    expect(controller.network('n1').records.lookup('web')).toBeUndefined();
    const again = await call('POST', '/networks/n1/disconnect', { sandbox: 'web' });
    expect([again.status, (again.body as { code: string }).code]).toEqual([404, 'ERR_ENDPOINT_NOT_FOUND']);
  });

  it('R15 a disconnect racing a connect of the same sandbox waits for it (no half-joined endpoint)', async () => {
    const { call, controller } = await withNetAndSandboxes();
    controller.network('n1').joinDelayMs = 20;
    const [c, d] = await Promise.all([
      call('POST', '/networks/n1/connect', { sandbox: 'web' }),
      call('POST', '/networks/n1/disconnect', { sandbox: 'web' }),
    ]);
    expect([c.status, d.status]).toEqual([201, 200]);
    expect(controller.network('n1').endpoints.size).toBe(0);
    expect(controller.network('n1').records.size).toBe(0);
  });

  it('R15 mutations on different sandboxes run concurrently', async () => {
    const { call, controller } = await withNetAndSandboxes();
    const net = controller.network('n1');
    net.joinDelayMs = 30;
    const both = Promise.all([call('POST', '/networks/n1/connect', { sandbox: 'web' }), call('POST', '/networks/n1/connect', { sandbox: 'db' })]);
    await new Promise((r) => setTimeout(r, 10));
    expect(net.log.filter((l) => l.startsWith('join'))).toEqual(['join web', 'join db']);
    expect((await both).map((r) => r.status)).toEqual([201, 201]);
  });

  it('R15 a slow resolve does not hold up a connect of the same sandbox (reads are not serialised)', async () => {
    let release: () => void = () => undefined;
    const { call } = setup({ probe: () => new Promise((r) => (release = () => r({ status: 'NOERROR' }))) });
    await call('POST', '/networks', { name: 'n1' });
    await call('POST', '/sandboxes', { name: 'web' });
    const slow = call('POST', '/sandboxes/web/resolve', { name: 'x' });
    expect((await call('POST', '/networks/n1/connect', { sandbox: 'web' })).status).toBe(201);
    release();
    expect((await slow).status).toBe(200);
  });

  it('L1 DELETE /sandboxes/:name deletes it and answers its name', async () => {
    const { call, controller } = await withNetAndSandboxes();
    expect(await call('DELETE', '/sandboxes/web')).toEqual({ status: 200, body: { name: 'web' } });
    expect(controller.sandbox('web').deleted).toBe(true);
  });
});

describe('routes: protocol errors', () => {
  it('L1 an unknown route is 404 ERR_API_NOT_FOUND; a known path with another method is 405', async () => {
    const { call } = setup();
    const nf = await call('GET', '/nope');
    expect([nf.status, (nf.body as { code: string }).code]).toEqual([404, 'ERR_API_NOT_FOUND']);
    const na = await call('PUT', '/networks');
    expect([na.status, (na.body as { code: string }).code]).toEqual([405, 'ERR_API_METHOD_NOT_ALLOWED']);
    expect(() => matchRoute('GET', '/networks/a/b/c')).toThrow(expect.objectContaining({ code: 'ERR_API_NOT_FOUND' }));
  });

  it('L1 a body that is not a JSON object is 400 ERR_API_BAD_REQUEST', async () => {
    const { call } = setup();
    for (const body of [[1, 2], 'text', 42, null]) {
      const r = await call('POST', '/networks', body);
      expect([r.status, (r.body as { code: string }).code]).toEqual([400, 'ERR_API_BAD_REQUEST']);
    }
  });

  it('L1 every API error code has the ERR_API_ form', () => {
    for (const c of API_ERROR_CODES) expect(c).toMatch(/^ERR_API_[A-Z_]+$/);
  });
});

describe('routes: records, resolve, explain, metrics, health', () => {
  it('R16 GET /metrics answers the injected text as text; without it 501 ERR_API_UNSUPPORTED', async () => {
    expect(await setup({ metrics: () => 'x_total 1\n' }).call('GET', '/metrics')).toEqual({ status: 200, text: 'x_total 1\n' });
    const r = await setup().call('GET', '/metrics');
    expect([r.status, (r.body as { code: string }).code]).toEqual([501, 'ERR_API_UNSUPPORTED']);
  });

  it('L1 GET /healthz counts objects and adds the injected fields', async () => {
    const { call } = await withNetAndSandboxes();
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok', networks: 1, sandboxes: 2, storage: 'ok' });
    const h = setup({ health: () => ({ pid: 7 }) });
    expect((await h.call('GET', '/healthz')).body).toEqual({ status: 'ok', networks: 0, sandboxes: 0, storage: 'ok', pid: 7 });
  });

  it('L6 degraded store: every mutation is refused with 503 before its handler runs; reads and resolve are served; /healthz says why', async () => {
    const s = await withNetAndSandboxes(['web']);
    const degraded = new SandnsError('ERR_STORE_DEGRADED', 'cannot write (ENOSPC)', 503);
    Object.assign(s.controller, { assertWritable: () => { throw degraded; } });
    for (const [m, p, b] of [['POST', '/networks', { name: 'n2' }], ['DELETE', '/networks/n1'], ['POST', '/sandboxes', { name: 'x' }], ['DELETE', '/sandboxes/web'], ['POST', '/networks/n1/connect', { sandbox: 'web' }]] as const) {
      expect(await s.call(m, p, b), `${m} ${p}`).toMatchObject({ status: 503, body: { code: 'ERR_STORE_DEGRADED' } });
    }
    expect(s.controller.networks().map((n) => n.name)).toEqual(['n1']);
    expect(s.controller.sandboxes().map((x) => x.id)).toEqual(['web']);
    expect((await s.call('GET', '/networks')).status).toBe(200);
    expect((await s.call('GET', '/healthz')).body).toMatchObject({ storage: 'degraded', storageError: 'cannot write (ENOSPC)' });
  });

  it('L6 a mutation whose write fails answers the write error (507), never its success; a refused one keeps its own error', async () => {
    const s = setup();
    const failed = new SandnsError('ERR_STORE_WRITE_FAILED', 'cannot save the state (ENOSPC)', 507);
    Object.assign(s.controller, { persisted: async () => { throw failed; } });
    expect(await s.call('POST', '/networks', { name: 'n1' })).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED' } });
    expect(await s.call('DELETE', '/networks/nope')).toMatchObject({ status: 404 });
  });

  it('R5 resolve runs the probe in the sandbox and explains with its reply; a PTR of an address asks the reverse name', async () => {
    const seen: unknown[] = [];
    const { call } = setup({
      probe: async (sb, q) => (seen.push(['probe', sb.netnsPath, q]), { status: 'NOERROR' }),
      explain: (sb, q, reply) => (seen.push(['explain', sb.id, q, reply]), { summary: 'because' }),
    });
    await call('POST', '/sandboxes', { name: 'web' });
    const r = await call('POST', '/sandboxes/web/resolve', { name: '10.9.0.2', type: 'ptr', tcp: true });
    const q = { name: '2.0.9.10.in-addr.arpa.', type: 'PTR' };
    expect(r).toEqual({ status: 200, body: { sandbox: 'web', question: q, reply: { status: 'NOERROR' }, explanation: { summary: 'because' } } });
    expect(seen).toEqual([['probe', '/run/netns/web', { ...q, tcp: true }], ['explain', 'web', q, { status: 'NOERROR' }]]);
  });

  it('R5 resolve checks the question (400) and the sandbox (404) before probing', async () => {
    let probed = 0;
    const { call } = setup({ probe: async () => ++probed });
    await call('POST', '/sandboxes', { name: 'web' });
    for (const body of [{ name: 'a b' }, { name: 'x', type: 'A;rm' }, { type: 'A' }]) {
      expect((await call('POST', '/sandboxes/web/resolve', body)).status).toBe(400);
    }
    expect((await call('POST', '/sandboxes/ghost/resolve', { name: 'x' })).status).toBe(404);
    expect(probed).toBe(0);
  });

  it('L3 resolve on an external sandbox without its key is 409 ERR_SANDBOX_NO_KEY, never a probe', async () => {
    let probed = 0;
    const { call } = setup({ probe: async () => ++probed });
    await call('POST', '/sandboxes', { name: 'late', external: true });
    const r = await call('POST', '/sandboxes/late/resolve', { name: 'db' });
    expect([r.status, (r.body as { code: string }).code]).toEqual([409, 'ERR_SANDBOX_NO_KEY']);
    expect(probed).toBe(0);
  });

  it('L1 a conditional key release (?netnsPath=) releases only that key: no key is 200, another key 409 ERR_SANDBOX_KEY_MISMATCH and it stays', async () => {
    const released: string[] = [];
    const { call } = setup({
      keys: {
        set: async (sb, netnsPath) => void Object.assign(sb, { netnsPath }),
        release: async (sb) => void (released.push(sb.id), Object.assign(sb, { netnsPath: '' })),
      },
    });
    await call('POST', '/sandboxes', { name: 'late', external: true });
    expect((await call('DELETE', '/sandboxes/late/key?netnsPath=%2Frun%2Fnetns%2Fa')).status).toBe(200);
    expect(released).toEqual([]);
    await call('PUT', '/sandboxes/late/key', { netnsPath: '/run/netns/a' });
    const other = await call('DELETE', '/sandboxes/late/key?netnsPath=%2Frun%2Fnetns%2Fb');
    expect([other.status, (other.body as { code: string }).code]).toEqual([409, 'ERR_SANDBOX_KEY_MISMATCH']);
    expect(released).toEqual([]);
    expect((await call('DELETE', '/sandboxes/late/key?netnsPath=%2Frun%2Fnetns%2Fa')).status).toBe(200);
    expect(released).toEqual(['late']);
  });

  it('R5 GET /sandboxes/:name/explain explains without probing', async () => {
    const { call } = setup({ explain: (_sb, q) => `why ${q.name} ${q.type}` });
    await call('POST', '/sandboxes', { name: 'web' });
    const r = await call('GET', '/sandboxes/web/explain?name=db&type=aaaa');
    expect(r.body).toEqual({ sandbox: 'web', question: { name: 'db', type: 'AAAA' }, explanation: 'why db AAAA' });
  });

  it('R5 GET /records lists every network, or one with ?network= (404 when unknown)', async () => {
    const { call } = await withNetAndSandboxes();
    await call('POST', '/networks', { name: 'n2' });
    await call('POST', '/networks/n1/connect', { sandbox: 'web' });
    await call('POST', '/networks/n2/connect', { sandbox: 'db' });
    const all = (await call('GET', '/records')).body as { network: string; name: string; type: string }[];
    expect(all.filter((r) => r.type === 'A').map((r) => `${r.network}/${r.name}`)).toEqual(['n1/web', 'n2/db']);
    const one = (await call('GET', '/records?network=n2')).body as { network: string }[];
    expect(new Set(one.map((r) => r.network))).toEqual(new Set(['n2']));
    expect((await call('GET', '/records?network=zz')).status).toBe(404);
  });
});

describe('routes: query parameters', () => {
  it('L8 DELETE /sandboxes/:name?ifEmpty: only true or false, once; any other spelling is 400 and deletes nothing (the guard never fails open)', async () => {
    const { call, controller } = await withNetAndSandboxes(['web']);
    expect((await call('POST', '/networks/n1/connect', { sandbox: 'web' })).status).toBe(201);
    for (const q of ['ifEmpty=1', 'ifEmpty=yes', 'ifEmpty=True', 'ifEmpty=', 'ifEmpty', 'ifEmpty=true&ifEmpty=false']) {
      const r = await call('DELETE', `/sandboxes/web?${q}`);
      expect([r.status, (r.body as { code: string }).code], q).toEqual([400, 'ERR_API_BAD_REQUEST']);
      expect(controller.sandboxes().map((s) => s.id), q).toEqual(['web']);
    }
    expect((await call('DELETE', '/sandboxes/web?ifEmpty=true')).status).toBe(409);
    expect((await call('DELETE', '/sandboxes/web?ifEmpty=false')).status).toBe(200);
  });

  it('L8 a query parameter the route does not read is 400 naming the ones it takes (a typo is not silently ignored)', async () => {
    const { call } = await withNetAndSandboxes(['web']);
    for (const [m, p] of [['GET', '/records?netwrk=n1'], ['GET', '/sandboxes/web/explain?name=db&bogus=1'], ['DELETE', '/sandboxes/web?ifempty=true'], ['GET', '/networks?x=1']] as const) {
      const r = await call(m, p);
      expect([r.status, (r.body as { code: string }).code], p).toEqual([400, 'ERR_API_BAD_REQUEST']);
      expect((r.body as { message: string }).message, p).toMatch(/unknown query parameter/);
    }
    expect((await call('GET', '/records?network=n1')).status).toBe(200);
  });
});
