/**
 * What inspect shows of an endpoint: its aliases, link aliases, join priority, whether it carries the default route
 * and whether it refuses the resolver; and a late-key sandbox shows the endpoints it claims before its key comes.
 * The external driver makes nothing in the kernel; the sandbox has no namespace yet and its files are in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createController, type Controller } from '../../../controller/index.js';
import { silentLogger } from '../../../common/log.js';

let c: Controller;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-inspect-'));
  c = createController({ logger: silentLogger(), originResolvConf: '/nonexistent/resolv.conf', firewall: false, watchOrigin: false, runDir: join(dir, 'run') });
});

afterAll(async () => {
  await c?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('inspect shapes', () => {
  it('L1 an endpoint shows its aliases, links and resolver choice; a late-key sandbox lists what it claims (no interface yet)', async () => {
    const net = await c.newNetwork('external', 'insp', { subnet: '10.79.1.0/24' });
    const sb = await c.newSandbox('late1', { external: true, hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf') });
    const ep = await net.createEndpoint('late1', { aliases: ['db', 'database'], links: { cache: 'redis' }, disableResolution: true });
    await ep.join(sb, { priority: 5 });
    const [netEp] = net.info().endpoints;
    expect(netEp).toMatchObject({ name: 'late1', sandbox: 'late1', aliases: ['db', 'database'], links: { cache: 'redis' }, priority: 5, disableResolution: true });
    const info = sb.info();
    expect(info.endpoints).toHaveLength(1);
    expect(info.endpoints[0]).toMatchObject({ network: 'insp', name: 'late1', ipv4: '10.79.1.2', aliases: ['db', 'database'] });
    expect(info.endpoints[0]!.ifname).toBeUndefined();
    const plain = await net.createEndpoint('plain');
    expect(net.info().endpoints.find((e) => e.name === 'plain')).toStrictEqual({ id: plain.id, name: 'plain', ipv4: '10.79.1.3', ports: [], exposed: [], aliases: [] });
    await sb.delete();
    await plain.delete();
    await net.delete();
  });
});
