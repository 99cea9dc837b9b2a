/**
 * A netlink port id is unique only per (namespace, protocol), and the
 * `netlink` package picks ports as (counter << 22) | pid with a 1,024-value
 * counter: after 1,024 socket creations a socket made inside one namespace
 * holds the port of one made in another. The addons that find a socket by
 * its port (netlinkNoEnobufs, netlinkOnlyType, the sender lanes' adopt) must
 * take the socket of the namespace they are told, not the first descriptor
 * with that port. Sockets live in two scratch namespaces of the test's own,
 * and in the test process's namespace (where only a read-only dump is sent).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { nativeNetlinkSend, requireNativeHelper } from '../../common/io/native.js';
import { netlinkLib, openNetlinkIn, sendOffThread, type RtNetlinkSocket } from '../../common/io/rtnetlink.js';
import { uniqueName } from '../helpers/names.js';

const native = requireNativeHelper();
const sender = nativeNetlinkSend();
const nsA = uniqueName('npa');
const nsB = uniqueName('npb');
const pathA = `/run/netns/${nsA}`;
const pathB = `/run/netns/${nsB}`;
const LOOPBACK = 1;

/** The package's next port is the one it handed out 1,024 calls ago (its counter wraps). */
function wrapPortCounter(): void {
  for (let i = 0; i < 1023; i++) netlinkLib().generateLocalPort();
}

/** This process's socket descriptors. */
function openSockets(): number[] {
  return readdirSync('/proc/self/fd').map(Number).filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // the directory's own descriptor, gone once read
    }
  });
}

/** `p`, or 'timeout' after `ms` (a request whose reply went to another socket never settles). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function loAlias(ns: string): Promise<string> {
  const { stdout } = await execa('ip', ['-n', ns, '-j', 'link', 'show', 'lo']);
  return String((JSON.parse(stdout) as Array<{ ifalias?: string }>)[0]?.ifalias ?? '');
}

beforeAll(() => {
  native.createNetns(pathA, 'before');
  native.createNetns(pathB, 'before');
});

afterAll(() => {
  native.removeNetns(pathA);
  native.removeNetns(pathB);
});

describe.skipIf(sender === undefined || native.netlinkNoEnobufs === undefined)('138 netlink sockets with one port in two namespaces', () => {
  it('a socket of namespace B that shares the port of one of A is neither tuned nor adopted for A', async () => {
    const sockets: RtNetlinkSocket[] = [];
    try {
      const inB = native.callInNetns(pathB, () => netlinkLib().createRtNetlink());
      sockets.push(inB);
      wrapPortCounter();
      const inA = openNetlinkIn(pathA);
      sockets.push(inA);
      const port = inA.socket.address().port;
      expect(inB.socket.address().port).toBe(port); // the collision this test is about

      expect(native.netlinkNoEnobufs!(port, pathA)).toBe(1);
      expect(native.netlinkNoEnobufs!(port, pathB)).toBe(1);
      expect(native.netlinkOnlyType!(port, 0x7ffe, pathB)).toBe(1); // a type no message has: B's socket hears nothing more
      // A request through A's lane acts in A: lo's alias changes there and not in B.
      sendOffThread(inA);
      const set = await within(inA.setLink({ index: LOOPBACK }, { ifalias: 'set-in-a' }), 3000);
      expect(set).not.toBe('timeout');
      expect(await loAlias(nsA)).toBe('set-in-a');
      expect(await loAlias(nsB)).toBe('before');
    } finally {
      for (const s of sockets) s.socket.close();
    }
  });

  it("without a namespace the calling thread's is meant: a host socket is found, not the sandbox's with its port", async () => {
    const sockets: RtNetlinkSocket[] = [];
    try {
      const before = new Set(openSockets());
      const inB = native.callInNetns(pathB, () => netlinkLib().createRtNetlink());
      sockets.push(inB);
      const fdOfB = openSockets().find((fd) => !before.has(fd))!;
      wrapPortCounter();
      const host = netlinkLib().createRtNetlink();
      sockets.push(host);
      const port = host.socket.address().port;
      expect(inB.socket.address().port).toBe(port);

      expect(native.netlinkNoEnobufs!(port)).toBe(1);
      // Adopted in this namespace: a (read-only) dump through the lane is answered on the host socket, with the
      // host's links; adopting B's socket instead sends the dump there, and its reply never reaches this socket.
      // The hint names B's descriptor (a hint is a guess): it has the port, but not the namespace.
      sendOffThread(host, fdOfB);
      await execa('ip', ['-n', nsB, 'link', 'add', 'onlyinb0', 'type', 'veth', 'peer', 'name', 'onlyinb1']);
      const links = await within(host.getLinks(), 3000);
      expect(links).not.toBe('timeout');
      const names = (links as Awaited<ReturnType<RtNetlinkSocket['getLinks']>>).map((l) => l.attrs.ifname);
      expect(names).toContain('lo');
      expect(names).not.toContain('onlyinb0');
    } finally {
      for (const s of sockets) s.socket.close();
    }
  });
});
