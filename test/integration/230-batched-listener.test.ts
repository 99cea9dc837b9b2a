/**
 * The batched UDP listener (native/listener_udp.c through sandbox/io/listener-udp.ts) on real sockets:
 * a server namespace and a client namespace joined by a veth pair, the listener bound in the server's.
 * Bursts larger than one recvmmsg batch, odd sizes, a full send buffer (a slow tbf qdisc on the server's
 * veth makes sendmmsg meet EAGAIN: the replies wait and all arrive, without spinning), the queue's bound
 * (a refused reply is reported, never silent), a close in the middle of a batch, and a socket error
 * (EPOLLERR), after which the listener still reads; a handle collected without close() closes its socket.
 */
import dgram from 'node:dgram';
import { fstatSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants as osConstants } from 'node:os';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/names.js';
import { nativeListenerUdp, nativeSocketInNetns } from '../../common/io/native.js';
import type { DatagramListener, UdpPeer } from '../../resolver/index.js';
import { batchedUdpAvailable, ListenerSendError, nativeDatagramListener } from '../../sandbox/io/listener-udp.js';

const ok = process.getuid?.() === 0 && nativeSocketInNetns() !== undefined && batchedUdpAvailable();
const tag = uniqueName('bl');
const SRV = `${tag}s`;
const CLI = `${tag}c`;
const SRV_IP = '10.231.7.1';
const CLI_IP = '10.231.7.2';
const MAX = 1233;
let port = 20_000;

const ip = (...args: string[]): Promise<unknown> => execa('ip', args);
const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

beforeAll(async () => {
  if (!ok) return;
  await ip('netns', 'add', SRV);
  await ip('netns', 'add', CLI);
  await ip('link', 'add', `${tag}a`, 'netns', SRV, 'type', 'veth', 'peer', 'name', `${tag}b`, 'netns', CLI);
  await ip('-n', SRV, 'addr', 'add', `${SRV_IP}/24`, 'dev', `${tag}a`);
  await ip('-n', CLI, 'addr', 'add', `${CLI_IP}/24`, 'dev', `${tag}b`);
  for (const [ns, dev] of [[SRV, `${tag}a`], [CLI, `${tag}b`]] as const) {
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
});

afterAll(async () => {
  if (!ok) return;
  await ip('netns', 'del', SRV).catch(() => undefined);
  await ip('netns', 'del', CLI).catch(() => undefined);
});

/** A batched listener on SRV_IP:<fresh port> in the server namespace. */
function listener(): { udp: DatagramListener & { stats: () => { queued: number; refused: number; sendErrors: number; received: number } }; port: number; fd: number } {
  const p = port++;
  const fd = nativeSocketInNetns()!(`/run/netns/${SRV}`, 4, 'udp', SRV_IP, p);
  const udp = nativeDatagramListener(fd, MAX)!;
  open.push(udp);
  return { udp, port: p, fd };
}

/** A dgram client socket in the client namespace, collecting what comes back. */
async function client(): Promise<{ sock: dgram.Socket; got: Buffer[]; until(n: number, ms: number): Promise<number> }> {
  const fd = nativeSocketInNetns()!(`/run/netns/${CLI}`, 4, 'udp', CLI_IP, 0);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind({ fd }, res));
  open.push({ close: () => sock.close() });
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  const until = async (n: number, ms: number): Promise<number> => {
    const t0 = Date.now();
    while (got.length < n && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 5));
    return got.length;
  };
  return { sock, got, until };
}

/** Send `msgs` to the listener in waves of `wave` (each wave read before the next is sent: no receive-buffer drops). */
async function send(c: dgram.Socket, p: number, msgs: Buffer[], wave = 100): Promise<void> {
  for (let i = 0; i < msgs.length; i += wave) {
    await Promise.all(msgs.slice(i, i + wave).map((m) => new Promise<void>((res) => c.send(m, p, SRV_IP, () => res()))));
    await new Promise((r) => setTimeout(r, 5));
  }
}

const tc = (...args: string[]): Promise<unknown> => execa('tc', ['-n', SRV, 'qdisc', ...args]);

describe.skipIf(!ok)('batched UDP listener (recvmmsg/sendmmsg) on real sockets', () => {
  it('R0 a listener whose handle is collected without close() closes its socket', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { fd } = listener();
    open.pop(); // not closed by the test: only the collector ends it
    const socket = readlinkSync(`/proc/self/fd/${fd}`);
    const mod = nativeListenerUdp()!;
    (() => void mod.listen(fd, MAX, () => undefined))(); // the handle is dropped at once
    const still = (): boolean => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === socket;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && still(); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10)); // finalizers run after the collection, on a later turn
    }
    expect(still()).toBe(false);
  });

  it('R0 a socket error (EPOLLERR: an ICMP port unreachable on an IP_RECVERR socket) is reported and the listener goes on reading', async () => {
    const { udp, port: p, fd } = listener();
    expect(nativeListenerUdp()!.recvErrForTest!(fd)).toBe(0);
    const errors: number[] = [];
    const seen: string[] = [];
    udp.start(
      (bytes) => seen.push(bytes.toString()),
      (err) => errors.push((err as ListenerSendError).errno),
    );
    // A reply to a client port nobody listens on: the client namespace answers with ICMP port unreachable.
    const [a, b, cc, d] = CLI_IP.split('.').map(Number) as [number, number, number, number];
    udp.send(Buffer.from('to nobody'), (((a << 24) >>> 0) + (b << 16) + (cc << 8) + d) * 65536 + 9);
    const t0 = Date.now();
    while (errors.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
    expect(errors[0]).toBe(osConstants.errno.ECONNREFUSED);
    // libuv stopped the poll handle on EPOLLERR; without a restart these never reach the listener.
    const c = await client();
    await send(c.sock, p, ['q1', 'q2', 'q3', 'q4', 'q5'].map((q) => Buffer.from(q)), 1);
    const t1 = Date.now();
    while (seen.length < 5 && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
    expect(errors).toHaveLength(1); // the error was taken off the socket: not reported again and again
  });

  it('R1 600 datagrams in waves of 100 (several recvmmsg wake-ups per wave; a wave is what the receive buffer holds) are read whole, in order, and every reply arrives', async () => {
    const { udp, port: p } = listener();
    const seen: number[] = [];
    udp.start(
      (bytes, peer) => {
        seen.push(bytes.readUInt32BE(0));
        udp.send(Buffer.concat([Buffer.from('re:'), bytes]), peer);
      },
      (err) => {
        throw err;
      },
    );
    const c = await client();
    const msgs = Array.from({ length: 600 }, (_, i) => {
      const b = Buffer.alloc(40);
      b.writeUInt32BE(i, 0);
      return b;
    });
    await send(c.sock, p, msgs, 100);
    expect(await c.until(600, 5000)).toBe(600);
    expect(seen).toEqual(msgs.map((_, i) => i));
    expect(new Set(c.got.map((m) => m.readUInt32BE(3))).size).toBe(600);
    expect(udp.stats()).toMatchObject({ queued: 0, refused: 0, sendErrors: 0, received: 600 });
  });

  it('R2 empty, 513-byte and 65,507-byte datagrams: delivered as sent, the largest cut to the listener limit; a peer is an opaque value given back', async () => {
    const { udp, port: p } = listener();
    const lengths: number[] = [];
    const peers: UdpPeer[] = [];
    udp.start(
      (bytes, peer) => {
        lengths.push(bytes.length);
        peers.push(peer);
        udp.send(Buffer.from([bytes.length & 0xff]), peer);
      },
      () => undefined,
    );
    const c = await client();
    await send(c.sock, p, [Buffer.alloc(0), Buffer.alloc(513, 7), Buffer.alloc(65_507, 9), Buffer.alloc(MAX + 1, 1)], 1);
    expect(await c.until(4, 3000)).toBe(4);
    expect(lengths).toEqual([0, 513, MAX, MAX]);
    const cport = c.sock.address().port;
    const [a, b, cc, d] = CLI_IP.split('.').map(Number) as [number, number, number, number];
    expect(peers[0]).toBe((((a << 24) >>> 0) + (b << 16) + (cc << 8) + d) * 65536 + cport);
    expect(() => udp.send(Buffer.from('x'), 'not a peer')).toThrow(ListenerSendError);
    expect(() => udp.send(Buffer.from('x'), 0)).toThrow(/EINVAL/);
  });

  it('R1 a full send buffer (EAGAIN from sendmmsg behind a slow qdisc): replies wait in the queue, then all arrive; the process does not spin', async () => {
    await tc('add', 'dev', `${tag}a`, 'root', 'tbf', 'rate', '4mbit', 'burst', '1600', 'limit', '4000000');
    try {
      const { udp, port: p } = listener();
      udp.start((bytes, peer) => udp.send(Buffer.alloc(1000, bytes[0]), peer), () => undefined);
      const c = await client();
      const n = 500;
      const t0 = Date.now();
      const cpu0 = process.cpuUsage();
      await send(c.sock, p, Array.from({ length: n }, (_, i) => Buffer.from([i & 0xff, 1, 2, 3])), 100);
      await new Promise((r) => setTimeout(r, 20));
      const waiting = udp.stats().queued;
      expect(await c.until(n, 10_000)).toBe(n);
      const wall = Date.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      // ~520 KB at 4 Mbit/s takes about a second; the socket buffer (212 KB) holds far less, so replies had to wait.
      expect(waiting, 'replies queued behind EAGAIN').toBeGreaterThan(0);
      expect(udp.stats()).toMatchObject({ queued: 0, refused: 0, sendErrors: 0 });
      expect(wall).toBeGreaterThan(500);
      expect((cpu.user + cpu.system) / 1000, `CPU ms over ${wall} ms of waiting`).toBeLessThan(wall * 0.5);
    } finally {
      await tc('del', 'dev', `${tag}a`, 'root');
    }
  });

  it('R1 past the queue bound (4,096 replies waiting) a reply is refused with ENOBUFS and counted, never dropped silently; close drops the rest', async () => {
    await tc('add', 'dev', `${tag}a`, 'root', 'tbf', 'rate', '64kbit', 'burst', '1600', 'limit', '4000000');
    try {
      const { udp, port: p } = listener();
      const refused: string[] = [];
      udp.start(
        (_bytes, peer) => {
          for (let i = 0; i < 100; i++) {
            try {
              udp.send(Buffer.alloc(200), peer);
            } catch (err) {
              refused.push((err as ListenerSendError).code);
            }
          }
        },
        () => undefined,
      );
      const c = await client();
      await send(c.sock, p, Array.from({ length: 60 }, () => Buffer.from([1])), 10);
      await new Promise((r) => setTimeout(r, 50));
      const st = udp.stats();
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(refused)).toEqual(new Set(['ENOBUFS']));
      expect(st.refused).toBe(refused.length);
      expect(st.queued).toBeGreaterThan(3000);
      udp.close();
      expect(() => udp.send(Buffer.alloc(1), 1)).toThrow(/EBADF/);
    } finally {
      await tc('del', 'dev', `${tag}a`, 'root');
    }
  });

  it('R1 closed while a batch is being delivered: the rest of the batch is not delivered, the socket is closed, nothing crashes', async () => {
    const { udp, port: p, fd } = listener();
    let delivered = 0;
    udp.start(
      (_bytes, peer) => {
        delivered++;
        udp.send(Buffer.from('late'), peer);
        udp.close();
      },
      () => undefined,
    );
    const c = await client();
    await new Promise<void>((res) => {
      let left = 50;
      for (let i = 0; i < 50; i++) c.sock.send(Buffer.from([i]), p, SRV_IP, () => --left === 0 && res());
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toBe(1);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    // The port is free again: a new listener binds it.
    const again = nativeSocketInNetns()!(`/run/netns/${SRV}`, 4, 'udp', SRV_IP, p);
    const l2 = nativeDatagramListener(again, MAX)!;
    open.push(l2);
    l2.start((b, peer) => l2.send(b, peer), () => undefined);
    c.got.length = 0;
    c.sock.send(Buffer.from('ping'), p, SRV_IP);
    expect(await c.until(1, 2000)).toBe(1);
  });
});
