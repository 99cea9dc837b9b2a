/**
 * FS1, issue 10 §1: native/upstream_udp.c recycles socket objects, never
 * ports. A query socket that ends is disconnected (its port released),
 * emptied and kept idle; the next query of the same namespace, family and
 * device takes it and connect() gives it a fresh random port. What one use
 * leaves (queued datagrams, a pending ICMP error, its device binding, its id)
 * never reaches the next; the pool is bounded and closes with the process.
 */
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UdpSink } from '../../resolver/index.js';
import { nativeSocketInNetns, nativeUpstreamUdp } from '../../common/io/native.js';
import { idleUpstreamSockets, nativeUdpQuery, openUpstreamSockets, releaseNetnsSockets } from '../../sandbox/io/upstream-udp.js';
import { uniqueName } from '../helpers/names.js';

const open = nativeUdpQuery();
const m = nativeUpstreamUdp();
const notRoot = process.getuid?.() !== 0;
const QUERY = Buffer.from('0102010000010000000000000178076578616d706c650000010001', 'hex');

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  m?.keepQueueForTest(false);
  m?.flush();
});

/** A loopback UDP server that records what it got (with the sender's port); `fd` for synchronous sendTo. */
async function udpServer(bindFd?: number): Promise<{ sock: dgram.Socket; port: number; fd: number; got: { msg: Buffer; port: number }[] }> {
  const sock = dgram.createSocket('udp4');
  const got: { msg: Buffer; port: number }[] = [];
  sock.on('message', (msg, r) => got.push({ msg, port: r.port }));
  await new Promise<void>((r) => (bindFd === undefined ? sock.bind(0, '127.0.0.1', r) : sock.bind({ fd: bindFd }, r)));
  cleanups.push(() => sock.close());
  const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
  return { sock, port: sock.address().port, fd, got };
}

function recorder(): UdpSink & { datagrams: string[]; errors: Error[] } {
  const r = {
    datagrams: [] as string[],
    errors: [] as Error[],
    datagram: (msg: Buffer) => void r.datagrams.push(String(msg)),
    error: (err: Error) => void r.errors.push(err),
  };
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean | Promise<boolean>, ms = 1000): Promise<void> => {
  const t0 = Date.now();
  while (!(await cond()) && Date.now() - t0 < ms) await sleep(5);
};
/** The kernel object behind a use id: "socket:[inode]" of its fd. */
const socketOf = (id: number): string => readlinkSync(`/proc/self/fd/${id & 0xfffff}`);
const idOf = (f: object): number => (f as { id: number }).id;
const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe.skipIf(m === undefined)('FS1 recycled upstream sockets: a fresh port per query, nothing carried over', () => {
  it('FS1 200 sequential queries reuse one socket and get 200 fresh random ports (spread, unordered)', async () => {
    const up = await udpServer();
    const ports: number[] = [];
    const sockets = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = m!.open('', 4, '127.0.0.1', up.port, '', QUERY);
      expect(id).toBeGreaterThan(0);
      sockets.add(socketOf(id));
      ports.push(m!.ends(id)![1]);
      expect(openUpstreamSockets()).toBe(1);
      m!.close(id);
      expect(idleUpstreamSockets()).toBe(1);
    }
    expect(sockets.size).toBe(1);
    // ~28k ephemeral ports drawn at random: a repeat now and then, never a pattern.
    expect(new Set(ports).size).toBeGreaterThan(190);
    expect(ports.slice(1).filter((p, i) => p === ports[i]).length).toBeLessThan(3);
    const sorted = [...ports].sort((a, b) => a - b);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(5000);
    const ascending = ports.slice(1).filter((p, i) => p > ports[i]!).length;
    expect(ascending).toBeGreaterThan(60);
    expect(ascending).toBeLessThan(140);
    await until(() => up.got.length === 200);
    expect(up.got.map((g) => g.port)).toEqual(ports);
  });

  it('a slab JavaScript detached (transferred) is never written again: the next reply goes to a new one', async () => {
    const up = await udpServer();
    const got: string[] = [];
    const errors: Error[] = [];
    let kept: ArrayBuffer | undefined;
    const flight = open!('', '', 4, '127.0.0.1', up.port, QUERY, {
      datagram: (msg: Buffer) => {
        got.push(String(msg));
        // The first reply's slab moves to another owner (as a postMessage transfer does): it is detached here.
        if (kept === undefined) kept = structuredClone(msg.buffer as ArrayBuffer, { transfer: [msg.buffer as ArrayBuffer] });
      },
      error: (err: Error) => void errors.push(err),
    });
    cleanups.push(() => flight.close());
    await until(() => up.got.length === 1);
    const to = up.got[0]!.port;
    up.sock.send('first-reply', to, '127.0.0.1');
    await until(() => kept !== undefined);
    up.sock.send('second-reply', to, '127.0.0.1');
    await until(() => got.length === 2 || errors.length > 0);
    expect(errors).toEqual([]);
    expect(got).toEqual(['first-reply', 'second-reply']);
    expect(Buffer.from(kept!).includes('first-reply')).toBe(true);
    expect(Buffer.from(kept!).includes('second-reply')).toBe(false); // the transferred bytes are left alone
  });

  it('FS1 a reused socket gets a new id; the old id, and a bare fd, name nothing (ends, close are no-ops)', async () => {
    const up = await udpServer();
    const a = m!.open('', 4, '127.0.0.1', up.port, '', QUERY);
    const inode = socketOf(a);
    m!.close(a);
    const b = m!.open('', 4, '127.0.0.1', up.port, '', QUERY);
    expect(socketOf(b)).toBe(inode);
    expect(b).not.toBe(a);
    expect(m!.ends(a)).toBeUndefined();
    m!.close(a);
    expect(openUpstreamSockets()).toBe(1);
    expect(m!.ends(b)).toBeDefined();
    m!.close(b);
    expect(openUpstreamSockets()).toBe(0);
    // An id without a generation (the bare fd) names no use, though the slot's generation is 0 while it idles.
    expect(m!.ends(b & 0xfffff)).toBeUndefined();
  });

  it('FS1 a reply queued for use 1 when it ends is never delivered to use 2 on the same socket', async () => {
    const up = await udpServer();
    const first = recorder();
    const f1 = open!('', '', 4, '127.0.0.1', up.port, QUERY, first);
    const port1 = f1.ends().local.port;
    // Synchronously: two datagrams queued for use 1, use 1 ends, use 2 starts on the same socket.
    expect(m!.sendTo(up.fd, Buffer.from('stale1'), 4, '127.0.0.1', port1)).toBe(0);
    expect(m!.sendTo(up.fd, Buffer.from('stale2'), 4, '127.0.0.1', port1)).toBe(0);
    const inode = socketOf(idOf(f1));
    f1.close();
    const second = recorder();
    const f2 = open!('', '', 4, '127.0.0.1', up.port, QUERY, second);
    cleanups.push(() => f2.close());
    expect(socketOf(idOf(f2))).toBe(inode);
    const port2 = f2.ends().local.port;
    expect(port2).not.toBe(port1);
    await sleep(40);
    expect(second.datagrams).toEqual([]);
    expect(m!.sendTo(up.fd, Buffer.from('fresh'), 4, '127.0.0.1', port2)).toBe(0);
    await until(() => second.datagrams.length === 1);
    await sleep(20);
    expect(second.datagrams).toEqual(['fresh']);
    expect(first.datagrams).toEqual([]);
    expect(second.errors).toEqual([]);
  });

  it('FS1 even left in the queue (test knob: no emptying), a datagram for an earlier use\'s port is dropped by the per-use port check', async () => {
    const up = await udpServer();
    m!.keepQueueForTest(true);
    const f1 = open!('', '', 4, '127.0.0.1', up.port, QUERY, recorder());
    const port1 = f1.ends().local.port;
    m!.sendTo(up.fd, Buffer.from('stale'), 4, '127.0.0.1', port1);
    f1.close();
    const second = recorder();
    const f2 = open!('', '', 4, '127.0.0.1', up.port, QUERY, second);
    cleanups.push(() => f2.close());
    const port2 = f2.ends().local.port;
    m!.sendTo(up.fd, Buffer.from('fresh'), 4, '127.0.0.1', port2);
    await until(() => second.datagrams.length === 1);
    await sleep(20);
    expect(second.datagrams).toEqual(['fresh']);
  });

  it('FS1 an ICMP port unreachable of use 1 (ECONNREFUSED pending) never appears in use 2', async () => {
    const probe = await udpServer();
    const closedPort = probe.port;
    cleanups.pop()!();
    const up = await udpServer();
    // The error codes use 2 sees: thrown by its send, or delivered to its sink.
    const leaks = async (keepQueue: boolean): Promise<string[]> => {
      m!.keepQueueForTest(keepQueue);
      const first = recorder();
      const f1 = open!('', '', 4, '127.0.0.1', closedPort, QUERY, first);
      // Loopback answers the query with the ICMP error within the send: it is pending now, before any event-loop turn.
      f1.close();
      const second = recorder();
      let f2;
      try {
        f2 = open!('', '', 4, '127.0.0.1', up.port, QUERY, second);
      } catch (err) {
        return [(err as { code: string }).code];
      }
      m!.sendTo(up.fd, Buffer.from('answer'), 4, '127.0.0.1', f2.ends().local.port);
      await until(() => second.datagrams.length + second.errors.length > 0);
      await sleep(20);
      f2.close();
      expect(first.errors).toEqual([]);
      expect(second.datagrams).toEqual(['answer']);
      return second.errors.map((e) => (e as Error & { code: string }).code);
    };
    expect(await leaks(false)).toEqual([]);
    // Without the emptying at recycle the error would reach use 2 (connect does not clear it): the test sees it.
    expect(await leaks(true)).toEqual(['ECONNREFUSED']);
    expect(await leaks(false)).toEqual([]);
  });

  it('FS1 the pool keeps at most 64 idle sockets per key (fds in /proc/self/fd), flush closes them all', async () => {
    const up = await udpServer();
    m!.flush();
    const base = fdCount();
    const ids = Array.from({ length: 100 }, () => m!.open('', 4, '127.0.0.1', up.port, '', QUERY));
    expect(fdCount()).toBe(base + 100);
    expect(openUpstreamSockets()).toBe(100);
    for (const id of ids) m!.close(id);
    expect(openUpstreamSockets()).toBe(0);
    expect(idleUpstreamSockets()).toBe(64);
    expect(fdCount()).toBe(base + 64);
    // Another family or device is another key.
    const lo = m!.open('', 4, '127.0.0.1', up.port, notRoot ? '' : 'lo', QUERY);
    m!.close(lo);
    const idle = notRoot ? 64 : 65;
    expect(idleUpstreamSockets()).toBe(idle);
    expect(m!.flush()).toBe(idle);
    expect(idleUpstreamSockets()).toBe(0);
    expect(fdCount()).toBe(base);
  });

  it('FS1 a worker\'s pool (in use and idle) is closed when its environment ends', async () => {
    const up = await udpServer();
    const base = fdCount();
    const path = createRequire(import.meta.url).resolve('../../native/build/Release/upstream_udp.node');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.path);
      const q = Buffer.from('${QUERY.toString('hex')}', 'hex');
      const ids = Array.from({ length: 10 }, () => m.open('', 4, '127.0.0.1', workerData.port, '', q));
      for (const id of ids.slice(0, 6)) m.close(id);
      parentPort.postMessage([m.pending(), m.idle()]);
    `;
    const w = new Worker(code, { eval: true, workerData: { path, port: up.port } });
    const counts = await new Promise((r) => w.once('message', r));
    expect(counts).toEqual([4, 6]);
    expect(fdCount()).toBeGreaterThan(base + 9);
    await w.terminate();
    await until(() => fdCount() <= base);
    expect(fdCount()).toBe(base);
  });
});

describe.skipIf(m === undefined || notRoot)('FS1 recycled sockets inside a namespace', () => {
  const name = uniqueName('tr');
  const path = `/run/netns/${name}`;
  const inNs = (args: string[]) => execa('ip', ['-n', name, ...args]);
  const makeNs = async (): Promise<void> => {
    await execa('ip', ['netns', 'add', name]);
    // No IPv6 autoconfiguration chatter on the veth pair: the test counts d1's packets.
    await execa('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    await inNs(['addr', 'add', '10.251.7.1/24', 'dev', 'd0']);
    await inNs(['link', 'set', 'd0', 'up']);
    await inNs(['link', 'set', 'd1', 'up']);
    await inNs(['neigh', 'add', '10.251.7.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'd0', 'nud', 'permanent']);
  };
  beforeAll(makeNs);
  afterAll(async () => {
    m?.flush();
    await execa('ip', ['netns', 'del', name], { reject: false });
  });

  it('FS1 SO_BINDTODEVICE is applied again on reuse (the disconnect resets it): bound to lo, nothing leaves by d0', async () => {
    const up = await udpServer(nativeSocketInNetns()!(path, 4, 'udp', '127.0.0.1', 0));
    const boundTo = async (id: number): Promise<string> =>
      (await execa('ip', ['netns', 'exec', name, 'ss', '-uanH', 'sport', '=', `:${m!.ends(id)![1]}`])).stdout;
    const rxOfPeer = async (): Promise<number> => {
      const [link] = JSON.parse((await inNs(['-s', '-j', 'link', 'show', 'd1'])).stdout) as { stats64: { rx: { packets: number } } }[];
      return link!.stats64.rx.packets;
    };
    const a = m!.open(path, 4, '127.0.0.1', up.port, 'lo', QUERY);
    expect(a).toBeGreaterThan(0);
    expect(await boundTo(a)).toContain('127.0.0.1%lo:');
    const inode = socketOf(a);
    m!.close(a);
    expect(idleUpstreamSockets()).toBe(1);
    // The idle socket is taken and bound to lo again: 10.251.7.2 (routed by d0) is then "on link" of lo, nothing reaches d1.
    const rx0 = await rxOfPeer();
    const b = m!.open(path, 4, '10.251.7.2', 53, 'lo', QUERY);
    expect(b).toBeGreaterThan(0);
    expect(socketOf(b)).toBe(inode);
    expect(await boundTo(b)).toContain('%lo:');
    await sleep(50);
    expect(await rxOfPeer()).toBe(rx0);
    m!.close(b);
    // Bound to nothing (another key: a new socket), the same query goes out by d0 to d1.
    const c = m!.open(path, 4, '10.251.7.2', 53, '', QUERY);
    expect(socketOf(c)).not.toBe(inode);
    await until(async () => (await rxOfPeer()) > rx0);
    expect(await rxOfPeer()).toBe(rx0 + 1);
    m!.close(c);
  });

  it('FS1 a namespace deleted and made again under the same path never gets the old one\'s idle socket; release closes both', async () => {
    const up1 = await udpServer(nativeSocketInNetns()!(path, 4, 'udp', '127.0.0.1', 0));
    const a = m!.open(path, 4, '127.0.0.1', up1.port, '', QUERY);
    const inode = socketOf(a);
    m!.close(a);
    expect(idleUpstreamSockets()).toBe(1);
    await execa('ip', ['netns', 'del', name]);
    await makeNs();
    const up2 = await udpServer(nativeSocketInNetns()!(path, 4, 'udp', '127.0.0.1', 0));
    const b = m!.open(path, 4, '127.0.0.1', up2.port, '', QUERY);
    expect(socketOf(b)).not.toBe(inode);
    await until(() => up2.got.length === 1);
    expect(up2.got).toHaveLength(1);
    m!.close(b);
    expect(idleUpstreamSockets()).toBe(2);
    // The old namespace is gone (only the idle socket holds it); the path now names the new one: both lists go.
    expect(releaseNetnsSockets(path)).toBe(2);
    expect(idleUpstreamSockets()).toBe(0);
  });
});
