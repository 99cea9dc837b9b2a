/**
 * L5, in-process: a refusal rests only on answered operations. A connect,
 * sandbox create or endpoint create still in flight may yet fail (or be undone
 * by a crash), so an operation it would refuse — the network's delete, a
 * second connect of the same sandbox to the same network, an endpoint of the
 * same name, a sandbox of the same name — waits for its outcome and looks
 * again. Each case runs twice: the first operation failing late (after it
 * made its claim: an interface name taken inside the namespace, a namespace
 * path that is not one), where the second must succeed; and succeeding, where
 * the second is refused only after the first answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import type { Network, Sandbox } from '../../controller/index.js';

/** Settle order of named promises: each name is pushed when its promise settles. */
function order(named: Record<string, Promise<unknown>>): { done: Promise<PromiseSettledResult<unknown>[]>; seen: string[] } {
  const seen: string[] = [];
  const all = Object.entries(named).map(([name, p]) => p.finally(() => seen.push(name)));
  return { done: Promise.allSettled(all), seen };
}

const codeOf = (r: PromiseSettledResult<unknown> | undefined): unknown => (r?.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok');

describe('137 refusals wait for the operations in flight they rest on', () => {
  let t: TestController;
  const tag = uniqueName('rf');
  let seq = 0;
  let subnet = 0;

  beforeAll(async () => {
    t = await testController();
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  const network = (): Promise<Network> => t.controller.newNetwork('bridge', `${tag}n${seq++}`, { subnet: `10.252.${137 + subnet++}.0/24` });
  const sandbox = (): Promise<Sandbox> => t.controller.newSandbox(`${tag}s${seq++}`);
  /** A link named `ifname` inside the sandbox: a join asking for that name fails late, after its claim (EEXIST). */
  const takeIfname = (sb: Sandbox, ifname: string): Promise<unknown> => execa('nsenter', [`--net=${sb.netnsPath}`, 'ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);

  it('a network delete during a connect that fails late succeeds (the connect left nothing)', async () => {
    const net = await network();
    const sb = await sandbox();
    await takeIfname(sb, 'eth7');
    const { done } = order({ connect: net.connect(sb, sb.id, {}, { ifname: 'eth7' }), del: net.delete() });
    const [connect, del] = await done;
    expect(connect?.status).toBe('rejected');
    expect(codeOf(del)).toBe('ok');
    expect(t.controller.networks().map((n) => n.name)).not.toContain(net.name);
    expect(sb.endpoints.size).toBe(0);
  });

  it('a network delete during a connect that succeeds is refused, after the connect answered', async () => {
    const net = await network();
    const sb = await sandbox();
    const { done, seen } = order({ connect: net.connect(sb, sb.id), del: net.delete() });
    const [connect, del] = await done;
    expect(codeOf(connect)).toBe('ok');
    expect(codeOf(del)).toBe('ERR_NETWORK_ACTIVE_ENDPOINTS');
    expect(seen).toEqual(['connect', 'del']);
  });

  it('a second connect of the sandbox to the network joins when the first fails late', async () => {
    const net = await network();
    const sb = await sandbox();
    await takeIfname(sb, 'eth7');
    const { done } = order({ first: net.connect(sb, 'first', {}, { ifname: 'eth7' }), second: net.connect(sb, 'second') });
    const [first, second] = await done;
    expect(first?.status).toBe('rejected');
    expect(codeOf(second)).toBe('ok');
    expect([...sb.endpoints.values()].map((e) => e.name)).toEqual(['second']);
  });

  it('of two connects of the sandbox to the network, one joins and the other is refused after it answered', async () => {
    const net = await network();
    const sb = await sandbox();
    const { done, seen } = order({ first: net.connect(sb, 'first'), second: net.connect(sb, 'second') });
    const results = await done;
    expect(results.map(codeOf).sort()).toEqual(['ERR_SANDBOX_ALREADY_ON_NETWORK', 'ok']);
    const winner = results[0]?.status === 'fulfilled' ? 'first' : 'second';
    expect(seen[0]).toBe(winner);
    expect([...net.endpoints.values()].map((e) => e.name)).toEqual([winner]);
  });

  it('an endpoint name held by a connect that fails late is free for another sandbox', async () => {
    const net = await network();
    const [a, b] = [await sandbox(), await sandbox()];
    await takeIfname(a, 'eth7');
    const { done } = order({ a: net.connect(a, 'web', {}, { ifname: 'eth7' }), b: net.connect(b, 'web') });
    const [ra, rb] = await done;
    expect(ra?.status).toBe('rejected');
    expect(codeOf(rb)).toBe('ok');
    expect(net.endpoint('web')?.sandbox?.id).toBe(b.id);
  });

  it('an endpoint name held by a connect that succeeds is refused to a standalone create, after the connect answered', async () => {
    const net = await network();
    const sb = await sandbox();
    const { done, seen } = order({ connect: net.connect(sb, 'web'), create: net.createEndpoint('web') });
    const [connect, create] = await done;
    expect(codeOf(connect)).toBe('ok');
    expect(codeOf(create)).toBe('ERR_ENDPOINT_EXISTS');
    expect(seen).toEqual(['connect', 'create']);
  });

  it('a sandbox name held by a create that fails late is free for a second create', async () => {
    const id = `${tag}dup${seq++}`;
    const notNetns = join(t.dir, 'not-a-namespace');
    await writeFile(notNetns, 'plain file\n');
    const { done } = order({ first: t.controller.newSandbox(id, { netnsPath: notNetns }), second: t.controller.newSandbox(id) });
    const [first, second] = await done;
    expect(first?.status).toBe('rejected');
    expect(codeOf(first)).not.toBe('ERR_SANDBOX_EXISTS');
    expect(codeOf(second)).toBe('ok');
    expect(t.controller.sandbox(id).netnsPath).not.toBe(notNetns);
  });

  it('of two creates of one sandbox name, one succeeds and the other is refused after it answered', async () => {
    const id = `${tag}dup${seq++}`;
    const { done, seen } = order({ first: t.controller.newSandbox(id), second: t.controller.newSandbox(id) });
    const [first, second] = await done;
    expect(codeOf(first)).toBe('ok');
    expect(codeOf(second)).toBe('ERR_SANDBOX_EXISTS');
    expect(seen).toEqual(['first', 'second']);
  });
});
