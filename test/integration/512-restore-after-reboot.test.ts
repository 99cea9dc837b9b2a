/**
 * L3 after a reboot: every namespace sandns made is gone, so a namespace alive under an owned sandbox's name is
 * someone else's (made after the reboot, before the daemon came back). Restore leaves it alone: the sandbox goes (its
 * files too), with a problem saying why, instead of adopting the namespace and deleting it later. The reboot is told
 * by the boot id the newest state file was written in (proc(5) boot_id); here the file's id is made another one.
 * Bridges the same: a bridge named as a live network's but without the network's mark (its ifalias and MAC) is
 * someone else's, never adopted, with or without a reboot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createController } from '../../controller/index.js';
import { silentLogger } from '../../common/log.js';
import { uniqueName } from '../helpers/names.js';

const tag = uniqueName('rb');
const names = { foreign: `${tag}-f`, kept: `${tag}-k` };
const onBoth = `${tag}-j`;
const bridges = { squatted: `${tag}b1`, marked: `${tag}b2` };
let dir: string;

const open = () => createController({ logger: silentLogger(), originResolvConf: join(dir, 'resolv.conf'), firewall: false, stateDir: join(dir, 'state'), runDir: join(dir, 'run') });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-512-'));
  await writeFile(join(dir, 'resolv.conf'), '# no servers\n');
});

afterAll(async () => {
  for (const b of Object.values(bridges)) await execa('ip', ['link', 'del', b], { reject: false });
  for (const n of [...Object.values(names), onBoth]) {
    await execa('ip', ['netns', 'del', n], { reject: false });
    await rm(`/etc/netns/${n}`, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
});

describe('512 L3 restore after a reboot', () => {
  it('L3 a namespace made by someone else under an owned sandbox\'s name after a reboot is left alone; without a reboot the sandbox is adopted', async () => {
    const a = open();
    await a.restore();
    await a.newSandbox(names.foreign);
    await a.newSandbox(names.kept);
    await a.close();
    // Without a reboot (the file's boot is this one): both come back.
    const b = open();
    await b.restore();
    expect(b.sandboxes().map((s) => s.id).sort()).toEqual([names.foreign, names.kept].sort());
    await b.close();
    // "Reboot": the newest file says another boot; sandns's namespaces are gone, and someone made one named as ours.
    const stateFile = join(dir, 'state', 'state.json');
    const text = await readFile(stateFile, 'utf8');
    expect(text).toMatch(/"bootId":"[0-9a-f-]{36}"/);
    await writeFile(stateFile, text.replace(/"bootId":"[0-9a-f-]{36}"/, '"bootId":"00000000-0000-0000-0000-000000000000"'));
    for (const n of Object.values(names)) await execa('ip', ['netns', 'del', n]);
    await execa('ip', ['netns', 'add', names.foreign]);
    const c = open();
    const report = await c.restore();
    expect(c.sandboxes()).toEqual([]);
    expect(report?.removedSandboxes.sort()).toEqual([names.foreign, names.kept].sort());
    expect(report?.problems.join('\n')).toContain(`namespace ${names.foreign} was made after a reboot by someone else`);
    expect(existsSync(`/run/netns/${names.foreign}`)).toBe(true);
    expect(existsSync(`/etc/netns/${names.foreign}/hosts`)).toBe(false);
    await c.close();
  });

  it('L3 a bridge named as a live network\'s but not carrying its mark is left alone and the network is not adopted (its sandbox links go, the default route moves); a marked one is', async () => {
    const a = open();
    await a.restore();
    const sq = await a.newNetwork('bridge', `${tag}sq`, { subnet: '10.251.212.0/24', driverOptions: { bridgeName: bridges.squatted } });
    const mk = await a.newNetwork('bridge', `${tag}mk`, { subnet: '10.251.213.0/24', driverOptions: { bridgeName: bridges.marked } });
    // A sandbox on both, its default route through the first.
    const sb = await a.newSandbox(onBoth);
    await (await sq.createEndpoint(`${tag}e1`)).join(sb);
    await (await mk.createEndpoint(`${tag}e2`)).join(sb);
    const route = async (): Promise<string> => (await execa('ip', ['-n', onBoth, 'route', 'show', 'default'])).stdout;
    expect(await route()).toContain('via 10.251.212.1');
    await a.close();
    // While the daemon is down, someone replaces the first bridge with their own of the same name (no mark).
    await execa('ip', ['link', 'del', bridges.squatted]);
    await execa('ip', ['link', 'add', bridges.squatted, 'type', 'bridge']);
    await execa('ip', ['addr', 'add', '192.0.2.1/24', 'dev', bridges.squatted]);
    const b = open();
    const report = await b.restore();
    expect(b.networks().map((n) => n.name)).toEqual([`${tag}mk`]);
    expect(report?.problems.join('\n')).toMatch(new RegExp(`network ${tag}sq: a network interface named ${bridges.squatted} exists already`));
    expect(report?.recreatedBridges).toEqual([]);
    // Theirs is as they made it: no alias, no address of ours, still there after our network's records are gone.
    const { stdout } = await execa('ip', ['-j', 'addr', 'show', 'dev', bridges.squatted]);
    const [link] = JSON.parse(stdout) as { ifalias?: string; addr_info: { local: string }[] }[];
    expect(link?.ifalias).toBeUndefined();
    expect(link?.addr_info.map((x) => x.local)).toEqual(['192.0.2.1']);
    // The sandbox lost the squatted network's interface, and its default route moved to the network left.
    const links = JSON.parse((await execa('ip', ['-n', onBoth, '-j', 'addr', 'show'])).stdout) as { addr_info: { local: string }[] }[];
    expect(links.flatMap((l) => l.addr_info.map((x) => x.local)).filter((x) => x.startsWith('10.251.'))).toEqual(['10.251.213.2']);
    expect(await route()).toContain('via 10.251.213.1');
    await b.deleteSandbox(b.sandboxes()[0]!);
    await b.deleteNetwork(b.networks()[0]!);
    await b.close();
    const c = open();
    await c.restore();
    expect(c.networks()).toEqual([]);
    await c.close();
    expect((await execa('ip', ['link', 'show', bridges.squatted], { reject: false })).exitCode).toBe(0);
    expect((await execa('ip', ['link', 'show', bridges.marked], { reject: false })).exitCode).not.toBe(0);
  });
});
