/**
 * Restore at scale (L3): 300 sandboxes joined to one network, `kill
 * -9` of the daemon, a restart on the same state directory. Every sandbox
 * answers a peer's name again from inside, the restore report counts all of
 * them with no problem, and the times (restart until the API answers, until
 * the last sandbox answers, the restore itself) are printed, not asserted:
 * speed is checked by `npm run bench:lifecycle`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import dnsPacket from 'dns-packet';
import { randomBytes } from 'node:crypto';
import { buildCli } from '../helpers/daemon.js';
import { eachLimited, stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { netnsNames } from '../helpers/exec.js';
import { requireNativeHelper } from '../../common/io/native.js';
import type { NetworkInfo } from '../../controller/index.js';

const tag = uniqueName('rs');
const N = 300;
const sbName = (i: number): string => `${tag}-${i}`;
const NET = `${tag}n`;

let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
let net: NetworkInfo | undefined;

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-520-'));
  d = await stateDaemon(build.bin, dir);
  await d.start();
});

afterAll(async () => {
  await d?.kill('SIGKILL');
  for (const ns of (await netnsNames()).filter((n) => n.startsWith(tag))) await execa('ip', ['netns', 'del', ns], { reject: false });
  if (net !== undefined) await execa('ip', ['link', 'del', `sd-${net.id.slice(0, 12)}`], { reject: false });
  for (let i = 0; i < N; i++) {
    await rm(`/etc/netns/${sbName(i)}`, { recursive: true, force: true });
    await rm(`/run/sandns/sandboxes/${sbName(i)}`, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 120_000);

/** One UDP socket inside each sandbox (opened before the restart: the probe then costs only its queries). */
async function probes(): Promise<Map<number, dgram.Socket>> {
  const native = requireNativeHelper();
  const out = new Map<number, dgram.Socket>();
  for (let i = 0; i < N; i++) {
    const sock = dgram.createSocket('udp4');
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.bind({ fd: native.socketInNetns(`/run/netns/${sbName(i)}`, 4, 'udp') }, r));
    out.set(i, sock);
  }
  return out;
}

describe('520 restore at scale', () => {
  it(`L3 ${N} joined sandboxes: after kill -9 and a restart every one answers a peer's name again`, async () => {
    net = await d.api<NetworkInfo>('POST', '/networks', { name: NET, subnet: `10.252.${randomBytes(1)[0]! & 0xfc}.0/22` });
    const t0 = performance.now();
    await eachLimited(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
      await d.api('POST', '/sandboxes', { name: sbName(i) });
      await d.api('POST', `/networks/${NET}/connect`, { sandbox: sbName(i) });
    });
    const setup = performance.now() - t0;
    const socks = await probes();
    try {
      await d.kill('SIGKILL');
      const query = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: sbName(0) }] });
      const answered = new Set<number>();
      let last = 0;
      for (const [i, sock] of socks) {
        sock.on('message', (msg) => {
          const p = dnsPacket.decode(msg);
          if ((p as { rcode?: string }).rcode === 'NOERROR' && (p.answers ?? []).some((a) => a.type === 'A') && !answered.has(i)) {
            answered.add(i);
            last = performance.now();
          }
        });
      }
      const t1 = performance.now();
      const started = d.start();
      while (answered.size < N && performance.now() - t1 < 60_000) {
        for (const [i, sock] of socks) if (!answered.has(i)) sock.send(query, 53, '127.0.0.11');
        await new Promise((r) => setTimeout(r, 100)); // not faster: probing 300 sockets every few ms loads the daemon more than its restore
      }
      const { ms: ready } = await started;
      expect([...socks.keys()].filter((i) => !answered.has(i))).toEqual([]);
      const restored = (await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))!;
      expect(restored).toMatchObject({ sandboxes: N, joined: N, problems: [], removedSandboxes: [], leftEndpoints: [] });
      console.info(`[520] ${N} sandboxes: set up in ${Math.round(setup)} ms; after kill -9 the restart answered its API in ${ready} ms, ` +
        `every sandbox answered within ${Math.round(last - t1)} ms (restore itself ${String(restored.ms)} ms)`);
    } finally {
      for (const sock of socks.values()) sock.close();
    }
    await eachLimited(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
      await d.api('DELETE', `/sandboxes/${sbName(i)}`);
    });
    await d.api('DELETE', `/networks/${NET}`);
    expect((await netnsNames()).filter((n) => n.startsWith(tag))).toEqual([]);
  }, 600_000);
});
