/**
 * A Linux bridge holds at most 1023 ports (BR_MAX_PORTS - 1; the kernel
 * answers EXFULL to the 1024th). A connect to a full network is a typed 409
 * (ERR_NETWORK_FULL), not a 500 with an errno: nothing is left behind (no
 * veth on either side, no port, no endpoint; twice in a row), and once a
 * port is free the same sandbox connects and resolves its peer.
 *
 * The bridge is filled with 1,021 veth pairs whose other ends live in a
 * scratch namespace of this test: deleting that namespace deletes every pair.
 */
import { execa } from 'execa';
import { writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { randomSubnet } from '../helpers/daemon.js';
import { digShort } from '../helpers/exec.js';
import type { SandnsError } from '../../common/errors.js';
import type { Network, Sandbox } from '../../controller/index.js';

const FILL = 1021; // + the first two sandboxes' veths = 1023 ports: full

async function ports(bridge: string): Promise<number> {
  const r = await execa('ip', ['-j', 'link', 'show', 'master', bridge]);
  return (JSON.parse(r.stdout || '[]') as unknown[]).length;
}

async function links(netnsPath: string): Promise<string[]> {
  const r = await execa('nsenter', [`--net=${netnsPath}`, 'ip', '-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

describe('136 a full bridge', () => {
  const tag = uniqueName('bf');
  const bridge = `${tag}br`;
  const scratch = `${tag}fill`;
  const batch = join(tmpdir(), `${tag}.batch`);
  let t: TestController;
  let net: Network;
  let sbs: Sandbox[];

  beforeAll(async () => {
    t = await testController();
    net = await t.controller.newNetwork('bridge', `${tag}n`, { subnet: randomSubnet().subnet.replace(/\/24$/, '/21'), driverOptions: { bridgeName: bridge } });
    sbs = await Promise.all(['a', 'b', 'c'].map((x) => t.controller.newSandbox(`${tag}-${x}`, { hostname: x })));
    await execa('ip', ['netns', 'add', scratch]);
    const lines = Array.from({ length: FILL }, (_, i) => `link add ${tag}${i} master ${bridge} type veth peer name f${i} netns ${scratch}`);
    await writeFile(batch, `${lines.join('\n')}\n`);
    await execa('ip', ['-batch', batch]);
  }, 120_000);

  afterAll(async () => {
    await execa('ip', ['netns', 'del', scratch], { reject: false }); // takes every fill pair with it, in the background
    await rm(batch, { force: true });
    // The kernel deletes the pairs after `ip netns del` returns: wait until no host end is left, so the next test file starts clean.
    for (let i = 0; i < 300; i++) {
      const r = await execa('ip', ['-o', 'link', 'show'], { reject: false });
      if (!new RegExp(`: ${tag}\\d+[@:]`).test(r.stdout)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    await t?.cleanup();
  }, 120_000);

  it('L4 the 1,024th port: 409 ERR_NETWORK_FULL, nothing made; a freed port lets the same sandbox in', { timeout: 120_000 }, async () => {
    const [a, b, c] = sbs as [Sandbox, Sandbox, Sandbox];
    await net.connect(a, 'pa');
    await net.connect(b, 'pb');
    expect(await ports(bridge)).toBe(1023);

    for (let attempt = 0; attempt < 2; attempt++) {
      // Twice: a refusal leaves nothing that makes the next one different (no address or endpoint kept).
      const err = (await net.connect(c, 'pc').then(
        () => undefined,
        (e: unknown) => e,
      )) as SandnsError | undefined;
      expect(err?.code).toBe('ERR_NETWORK_FULL');
      expect(err?.status).toBe(409);
      expect(err?.message).toMatch(new RegExp(`bridge ${bridge} .*1023 ports`));
      expect(await ports(bridge)).toBe(1023);
      expect((await links(c.netnsPath)).filter((l) => l !== 'lo')).toEqual([]);
      expect([...net.endpoints.keys()].length).toBe(2);
      expect(c.endpoints.size).toBe(0);
    }

    await execa('ip', ['-n', scratch, 'link', 'del', 'f0']); // one port free
    await net.connect(c, 'pc');
    expect(await ports(bridge)).toBe(1023);
    expect(c.endpoints.size).toBe(1);
    expect((await digShort(c.id, ['pa'])).stdout.trim()).toMatch(/^10\.\d+\.\d+\.\d+$/);
  });
});
