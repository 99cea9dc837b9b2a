/**
 * FS1–FS4 on real kernels: a root process in one sandbox (CAP_NET_RAW, as a
 * default Docker container) forges upstream replies with a raw socket while
 * its own query is in flight to a 100 ms upstream in another namespace. The
 * spoofer is given what no off-path attacker has, by an oracle in the fake
 * upstream: the forwarder's source port, query ID and 0x20 question, so the
 * only thing left to stop it is that the host-side socket cannot be reached
 * from a bridge (connected, bound to the egress device). A control shows the
 * same forged packets do reach an ordinary connected socket on the host.
 * Poisoned means any sandbox (the attacker's own network or another) is
 * ever answered the forged address.
 */
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testController, type TestController } from '../helpers/controller.js';
import { inNetnsPath } from '../helpers/exec.js';
import { uniqueName } from '../helpers/names.js';
import { nativeSocketInNetns } from '../../common/io/native.js';

const ATTEMPTS = 20;
const UPSTREAM_DELAY_MS = 100;
const FORGED = '6.6.6.6';
const SPOOFER = fileURLToPath(new URL('../helpers/spoofer.py', import.meta.url));

/** Offset just past the question of a DNS message (uncompressed question). */
function questionEnd(m: Buffer): number {
  let o = 12;
  while (m[o] !== 0) o += m[o]! + 1;
  return o + 5;
}

/** The reply an oracle-fed attacker forges: our ID, our exact question, one A record → FORGED, TTL 3600. */
function forgedReply(query: Buffer): Buffer {
  const qEnd = questionEnd(query);
  const head = Buffer.from([query[0]!, query[1]!, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, ...FORGED.split('.').map(Number)]);
  return Buffer.concat([head, query.subarray(12, qEnd), answer]);
}

/** A line-oriented handle on the spoofer process. */
interface Spoofer {
  send(src: string, sport: number, dst: string, dport: number, count: number, dns: Buffer): Promise<number>;
  stop(): void;
}

function startSpoofer(netnsPath: string): Spoofer {
  const proc = execa('nsenter', [`--net=${netnsPath}`, 'python3', '-u', SPOOFER], { stdin: 'pipe', reject: false });
  const waiting: ((n: number) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => waiting.shift()?.(Number(l.split(' ')[1])));
  return {
    send(src, sport, dst, dport, count, dns) {
      return new Promise<number>((resolve) => {
        waiting.push(resolve);
        proc.stdin!.write(`${src} ${sport} ${dst} ${dport} ${count} ${dns.toString('hex')}\n`);
      });
    },
    stop() {
      if (proc.pid !== undefined) process.kill(proc.pid);
    },
  };
}

describe('210 FS1 a raw-socket spoofer in a sandbox cannot poison anyone', () => {
  const tag = uniqueName('f');
  const world = `${tag}w`;
  const third = 1 + Math.floor(Math.random() * 250);
  const hostIp = `100.64.${third}.1`;
  const upIp = `100.64.${third}.2`;
  let t: TestController;
  let upstream: dgram.Socket;
  let spoofer: Spoofer;
  let gateway = '';
  let atkPath = '';
  let vicPath = '';
  // The oracle: called with each query the upstream receives and where it came from.
  let onQuery: (q: Buffer, port: number) => Promise<void> = async () => undefined;
  let served = 0;

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', world]);
    await execa('ip', ['link', 'add', `${tag}h`, 'type', 'veth', 'peer', 'name', `${tag}p`]);
    await execa('ip', ['link', 'set', `${tag}p`, 'netns', world]);
    await execa('ip', ['addr', 'add', `${hostIp}/30`, 'dev', `${tag}h`]);
    await execa('ip', ['link', 'set', `${tag}h`, 'up']);
    for (const argv of [['addr', 'add', `${upIp}/30`, 'dev', `${tag}p`], ['link', 'set', `${tag}p`, 'up'], ['link', 'set', 'lo', 'up']]) {
      await execa('ip', ['-n', world, ...argv]);
    }
    const open = nativeSocketInNetns();
    if (open === undefined) throw new Error('the native helper is needed (npm run build:native)');
    upstream = dgram.createSocket('udp4');
    await new Promise<void>((res) => upstream.bind({ fd: open(`/run/netns/${world}`, 4, 'udp', upIp, 53) }, res));
    upstream.on('message', (m, rinfo) => {
      const id = m.readUInt16BE(0);
      const question = dnsPacket.decode(m).questions![0]!;
      void onQuery(m, rinfo.port);
      setTimeout(() => {
        served++;
        const real = dnsPacket.encode({
          type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
          questions: [question], answers: [{ type: 'A', name: question.name, ttl: 300, data: `192.0.2.${1 + (served % 250)}` }],
        });
        try {
          upstream.send(real, rinfo.port, rinfo.address);
        } catch {
          // closed at teardown
        }
      }, UPSTREAM_DELAY_MS);
    });

    t = await testController(`nameserver ${upIp}\n`);
    const netA = await t.controller.newNetwork('bridge', `${tag}a`, {});
    const netB = await t.controller.newNetwork('bridge', `${tag}b`, {});
    const atk = await t.controller.newSandbox(`${tag}-atk`, { hostname: 'atk' });
    await (await netA.createEndpoint('atk')).join(atk);
    const vic = await t.controller.newSandbox(`${tag}-vic`, { hostname: 'vic' });
    await (await netB.createEndpoint('vic')).join(vic);
    atkPath = atk.netnsPath;
    vicPath = vic.netnsPath;
    gateway = /default via (\S+)/.exec((await inNetnsPath(atkPath, ['ip', '-4', 'route', 'show', 'default'])).stdout)?.[1] ?? '';
    spoofer = startSpoofer(atkPath);
  });

  afterAll(async () => {
    spoofer?.stop();
    await t?.cleanup();
    await new Promise<void>((res) => (upstream ? upstream.close(() => res()) : res()));
    await execa('ip', ['link', 'del', `${tag}h`], { reject: false });
    await execa('ip', ['netns', 'del', world], { reject: false });
  });

  const dig = async (path: string, name: string): Promise<string> =>
    (await inNetnsPath(path, ['dig', '+short', '+time=3', '+tries=1', '@127.0.0.11', name])).stdout;

  it('FS1 control: the forged packets do reach an ordinary connected socket on the host (so the test can fail)', async () => {
    expect(gateway).not.toBe('');
    const control = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    control.on('message', (m) => got.push(m));
    await new Promise<void>((res) => control.connect(53, upIp, res));
    const port = control.address().port;
    const probe = forgedReply(dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'probe.test', type: 'A', class: 'IN' }] }));
    for (const dst of [hostIp, gateway]) await spoofer.send(upIp, 53, dst, port, 3, probe);
    await new Promise((r) => setTimeout(r, 200));
    control.close();
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]!.readUInt16BE(0)).toBe(4242);
  });

  it(`FS1 FS4 0 of ${ATTEMPTS} attempts poison any sandbox, with port, ID and 0x20 case handed to the spoofer (${UPSTREAM_DELAY_MS} ms upstream)`, { timeout: 240_000 }, async () => {
    let poisoned = 0;
    let forgedSent = 0;
    for (let i = 0; i < ATTEMPTS; i++) {
      const name = `a${i}-${tag}.poison.test`;
      onQuery = async (q, port) => {
        if (dnsPacket.decode(q).questions?.[0]?.name.toLowerCase() !== name) return;
        const forged = forgedReply(q);
        for (const dst of [hostIp, gateway]) forgedSent += await spoofer.send(upIp, 53, dst, port, 50, forged);
      };
      const first = await dig(atkPath, name); // the attacker's own query is the one in flight
      const again = await dig(atkPath, name);
      const other = await dig(vicPath, name); // another network, same upstreams
      if ([first, again, other].some((a) => a.includes(FORGED))) poisoned++;
      expect(first).toMatch(/^192\.0\.2\.\d+$/);
    }
    onQuery = async () => undefined;
    expect(forgedSent).toBeGreaterThanOrEqual(ATTEMPTS * 2 * 50);
    expect(poisoned).toBe(0);
  });

  it('FS1 a blind flood over every ephemeral port while a query is in flight poisons nothing either', { timeout: 120_000 }, async () => {
    let poisoned = 0;
    for (let i = 0; i < 3; i++) {
      const name = `b${i}-${tag}.poison.test`;
      onQuery = async (q) => {
        if (dnsPacket.decode(q).questions?.[0]?.name.toLowerCase() !== name) return;
        await spoofer.send(upIp, 53, hostIp, 0, 1, forgedReply(q)); // right ID and case, every port once
      };
      const answers = [await dig(atkPath, name), await dig(vicPath, name)];
      if (answers.some((a) => a.includes(FORGED))) poisoned++;
    }
    onQuery = async () => undefined;
    expect(poisoned).toBe(0);
  });
});
