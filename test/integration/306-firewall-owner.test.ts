/**
 * One daemon per network namespace owns the firewall (its `inet sandns` table
 * is rebuilt whole from that daemon's networks). A second daemon with the
 * firewall on in the same namespace, even with another state directory,
 * refuses to start, naming the owner and what to do, and leaves the first
 * one's rules as they are; with --no-firewall it starts. Once the owner is
 * gone, even by kill -9, the next daemon takes the firewall over (the claim
 * dies with its process). Daemons in different namespaces never meet. All inside scratch
 * "host" namespaces.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, randomSubnet, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';

const H1 = `/run/netns/${uniqueName('fo')}`;
const H2 = `/run/netns/${uniqueName('fo')}`;
let build: { bin: string; remove(): Promise<void> };
const daemons: TestDaemon[] = [];

const table = async (ns: string): Promise<string> => (await execa('nsenter', [`--net=${ns}`, '--', 'nft', 'list', 'table', 'inet', 'sandns'], { reject: false })).stdout;
async function start(ns: string, firewall: boolean): Promise<TestDaemon> {
  const d = await startDaemon(build.bin, undefined, { netns: ns, firewall });
  daemons.push(d);
  return d;
}

beforeAll(async () => {
  build = await buildCli();
  for (const ns of [H1, H2]) await execa('ip', ['netns', 'add', ns.slice('/run/netns/'.length)]);
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.cleanup().catch(() => undefined);
  for (const ns of [H1, H2]) await execa('ip', ['netns', 'del', ns.slice('/run/netns/'.length)], { reject: false });
  await build?.remove();
}, 120_000);

describe('306 one firewall owner per network namespace', () => {
  it('a second daemon with the firewall on in the same namespace exits 1 with ERR_FIREWALL_IN_USE naming the owner; the owner\'s rules stay; --no-firewall starts; another namespace starts', async () => {
    const first = await start(H1, true);
    const net = randomSubnet();
    await first.json(['network', 'create', uniqueName('fon'), '--subnet', net.subnet]);
    const before = await table(H1);
    expect(before).toContain(net.subnet);
    const refused = await start(H1, true).then(() => 'started', (err: Error) => err.message);
    expect(refused).toMatch(new RegExp(`sandns daemon ${first.pid} owns the firewall of this network namespace.*--no-firewall`));
    expect(refused).toContain('ERR_FIREWALL_IN_USE');
    expect(await table(H1)).toBe(before);
    const noFirewall = await start(H1, false);
    expect(noFirewall.alive()).toBe(true);
    const elsewhere = await start(H2, true);
    expect(elsewhere.alive()).toBe(true);
  }, 120_000);

  it('an owner killed with -9 takes its claim with it: the next daemon there owns the firewall', async () => {
    const owner = daemons[0]!;
    process.kill(owner.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(owner.alive()).toBe(false);
    const next = await start(H1, true);
    expect(next.alive()).toBe(true);
  }, 120_000);
});
