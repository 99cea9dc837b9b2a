/**
 * rtnetlink requests sent from native/netlink_send.c's threads, one per
 * socket (issue 13: the kernel does a request's work inside sendmsg(2), and
 * deleting a veth there takes 15-30 ms that used to stall the event loop).
 * On sockets inside a scratch namespace: requests still succeed in order, a
 * refused one is still the kernel's errno, the send is queued (not done) when
 * request() returns, the event loop keeps turning while a veth is deleted,
 * one socket's deletion does not hold up another socket's requests, the
 * private descriptor goes with the socket, closing a socket does not wait for
 * its queued deletions, a request is copied when queued, and a released
 * lane's id names no later lane.
 */
import { readdirSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nativeNetlinkSend, requireNativeHelper } from '../../common/io/native.js';
import { netlinkErrno, netlinkLib, openNetlinkIn, sendOffThread, type RtNetlinkSocket } from '../../common/io/rtnetlink.js';
import { uniqueName } from '../helpers/names.js';

const sender = nativeNetlinkSend();
const openFds = (): number => readdirSync('/proc/self/fd').length;
const CREATE = 0x400 | 0x200; // NLM_F_CREATE | NLM_F_EXCL

/** RTM_NEWLINK of a veth pair `a`/`b` in the socket's own namespace. */
function addVeth(nl: RtNetlinkSocket, a: string, b: string): Promise<unknown> {
  const { ifla, rt, AttrStream } = netlinkLib();
  const toBuf = (data: Parameters<InstanceType<typeof AttrStream>['emit']>[0]): Buffer => {
    const s = new AttrStream();
    s.emit(data);
    return Buffer.concat(s.bufs);
  };
  const peer = Buffer.concat([toBuf(rt.formatLink({})), toBuf(ifla.formatLinkAttrs({ ifname: b }))]);
  return nl.newLink({}, { ifname: a, linkinfo: toBuf(ifla.formatInfo({ kind: 'veth', data: toBuf(ifla.formatVethInfo({ peer })) })) }, { flags: CREATE });
}

const RTM_DELLINK = 17;
const RTM_SETLINK = 19;
const IFLA_IFNAME = 3;
const IFLA_IFALIAS = 20;

/** An rtnetlink attribute (struct rtattr) holding a NUL-terminated string, padded to 4 bytes. */
function attr(type: number, text: string): Buffer {
  const len = 4 + text.length + 1;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  b.write(text, 4);
  return b;
}

/** An rtnetlink link request (nlmsghdr + ifinfomsg for link `index`, 0: by name) with `attrs`, plus `more` bytes after. */
function rtMessage(type: number, index: number, attrs: Buffer, more = 0): Buffer {
  const b = Buffer.alloc(32 + attrs.length);
  b.writeUInt32LE(b.length + more, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(0x1 | 0x4, 6); // NLM_F_REQUEST | NLM_F_ACK
  b.writeUInt32LE(0x7fff0000 + type, 8); // a sequence number the package's requests do not use
  b.writeInt32LE(index, 20); // ifinfomsg.ifi_index
  attrs.copy(b, 32);
  return b;
}

const names = async (nl: RtNetlinkSocket): Promise<string[]> => (await nl.getLinks()).map((l) => String(l.attrs.ifname));

describe.skipIf(sender === undefined)('132 rtnetlink sends off the main thread', () => {
  const nsPath = `/run/netns/${uniqueName('nls')}`;

  beforeAll(() => requireNativeHelper().createNetns(nsPath));
  afterAll(() => requireNativeHelper().removeNetns(nsPath));

  it('requests succeed in order, a refusal keeps its errno, the send is queued when request() returns', async () => {
    const nl = sendOffThread(openNetlinkIn(nsPath));
    try {
      const before = sender!.pending();
      const dump = nl.getLinks();
      expect(sender!.pending()).toBe(before + 1); // queued for the sender thread, not sent by this one
      expect((await dump).map((l) => l.attrs.ifname)).toContain('lo');
      // Ten requests issued at once on one socket: all answered, each by its own reply, in order.
      const made = Array.from({ length: 10 }, (_, i) => `q${i}`);
      await Promise.all(made.map((n) => addVeth(nl, n, `${n}p`)));
      expect(await names(nl)).toEqual(expect.arrayContaining([...made, ...made.map((n) => `${n}p`)]));
      // A refusal is the kernel's errno, as with the package's own send.
      const exists = await addVeth(nl, 'q0', 'q0x').then(() => undefined, (e: unknown) => e);
      expect(netlinkErrno(exists)).toBe('EEXIST');
      const missing = await nl.delLink({}, { ifname: 'nosuchlink0' }).then(() => undefined, (e: unknown) => e);
      expect(netlinkErrno(missing)).toBe('ENODEV');
      await Promise.all(made.map((n) => nl.delLink({}, { ifname: n })));
      expect((await names(nl)).filter((n) => n.startsWith('q'))).toEqual([]);
    } finally {
      nl.socket.close();
    }
  });

  it('the event loop keeps turning while veths are deleted, and the private descriptor is closed with the socket', async () => {
    const fds0 = openFds();
    const nl = sendOffThread(openNetlinkIn(nsPath));
    expect(openFds()).toBe(fds0 + 2); // the package's descriptor and our duplicate (its lane)
    try {
      const made = Array.from({ length: 4 }, (_, i) => `d${i}`);
      for (const n of made) await addVeth(nl, n, `${n}p`);
      // Turns of the loop while each deletion runs: with the send on this thread the kernel's work (an RCU wait of
      // several ms per veth) would run inside request(), and at most one turn would fit between two deletions.
      let turns = 0;
      let spinning = true;
      const spin = (): void => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      try {
        for (const n of made) await nl.delLink({}, { ifname: n });
      } finally {
        spinning = false;
      }
      expect(turns).toBeGreaterThan(4 * 3);
      expect((await names(nl)).filter((n) => n.startsWith('d'))).toEqual([]);
    } finally {
      nl.socket.close();
    }
    // release() returned at once; the lane's thread closes the duplicate when its queue is empty.
    await vi.waitFor(() => expect(openFds()).toBe(fds0), { timeout: 5000 });
  });

  it('closing a socket with deletions still queued does not wait for them: they are sent after, then the lane ends', async () => {
    const fds0 = openFds();
    const nl = sendOffThread(openNetlinkIn(nsPath));
    const made = Array.from({ length: 6 }, (_, i) => `r${i}`);
    for (const n of made) await addVeth(nl, n, `${n}p`);
    // Queued on the lane; their replies arrive on a socket closed by then, so these requests never settle.
    for (const n of made) nl.delLink({}, { ifname: n }).catch(() => undefined);
    const t0 = performance.now();
    nl.socket.close(); // release(lane)
    const closeMs = performance.now() - t0;
    const nl2 = openNetlinkIn(nsPath);
    try {
      await vi.waitFor(async () => expect((await names(nl2)).filter((n) => n.startsWith('r'))).toEqual([]), { timeout: 10_000, interval: 5 });
      const doneMs = performance.now() - t0;
      // Six veth deletions take 15-40 ms each in the kernel; release joined the lane's thread, waiting for all of them.
      expect(closeMs).toBeLessThan(Math.min(20, doneMs / 2));
    } finally {
      nl2.socket.close();
    }
    await vi.waitFor(() => expect(openFds()).toBe(fds0), { timeout: 5000 });
  });

  it('a request is copied when queued: changing its buffers after send() changes nothing that is sent', async () => {
    const nl = openNetlinkIn(nsPath);
    const lane = sender!.adopt(nl.socket.address().port, -1, nsPath);
    expect(lane).toBeGreaterThanOrEqual(0);
    try {
      const helper = sendOffThread(openNetlinkIn(nsPath));
      await addVeth(helper, 'c0', 'c0p');
      helper.socket.close();
      const sent = (data: Buffer | Buffer[]): Promise<Error | undefined> => new Promise((res) => sender!.send(lane, 0, 0, data, res));
      // First on the lane: a veth deletion (15-40 ms in the kernel), so the next request waits in the queue.
      const deleted = sent(rtMessage(RTM_DELLINK, 0, attr(IFLA_IFNAME, 'c0')));
      const alias = attr(IFLA_IFALIAS, 'copied');
      const aliased = sent([rtMessage(RTM_SETLINK, 1, Buffer.alloc(0), alias.length), alias]);
      alias.write('mutatd', 4); // after send() returned, before the thread sends it
      expect(await deleted).toBeUndefined();
      expect(await aliased).toBeUndefined();
      const { stdout } = await execa('ip', ['-n', nsPath.split('/').pop()!, '-j', 'link', 'show', 'lo']);
      expect((JSON.parse(stdout) as Array<{ ifalias?: string }>)[0]?.ifalias).toBe('copied');
    } finally {
      sender!.release(lane);
      nl.socket.close();
    }
  });

  it("a released lane's id names no later lane: a late send throws instead of going out on another socket", () => {
    const a = openNetlinkIn(nsPath);
    const b = openNetlinkIn(nsPath);
    try {
      const first = sender!.adopt(a.socket.address().port, -1, nsPath);
      expect(first).toBeGreaterThanOrEqual(0);
      sender!.release(first);
      const second = sender!.adopt(b.socket.address().port, -1, nsPath);
      expect(second).toBeGreaterThanOrEqual(0);
      expect(second).not.toBe(first);
      const late = vi.fn();
      expect(() => sender!.send(first, 0, 0, Buffer.alloc(16), late)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(() => sender!.release(first)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      sender!.release(second);
      expect(late).not.toHaveBeenCalled();
    } finally {
      a.socket.close();
      b.socket.close();
    }
  });

  it('the socket is found from a right hint, and by a scan from a wrong one or none', async () => {
    for (const hint of ['right', 0, -1, undefined] as const) {
      const before = sender!.lowestFreeFd();
      const nl = openNetlinkIn(nsPath);
      const fd = readdirSync('/proc/self/fd').map(Number).filter((n) => n >= before).sort((a, b) => a - b)[0]!;
      sendOffThread(nl, hint === 'right' ? fd : hint);
      try {
        const queued = sender!.pending();
        const dump = nl.getLinks();
        expect(sender!.pending()).toBe(queued + 1); // adopted: the send is queued for its lane
        expect((await dump).map((l) => l.attrs.ifname)).toContain('lo');
      } finally {
        nl.socket.close();
      }
    }
  });

  it('sockets do not wait for each other: a request on one is answered while another deletes a veth', async () => {
    const slow = sendOffThread(openNetlinkIn(nsPath));
    const quick = sendOffThread(openNetlinkIn(nsPath));
    try {
      await addVeth(slow, 'w0', 'w0p');
      const order: string[] = [];
      const deleting = slow.delLink({}, { ifname: 'w0' }).then(() => order.push('delete'));
      const dumping = quick.getLinks().then(() => order.push('dump'));
      await Promise.all([deleting, dumping]);
      // With one thread for both, the dump would be sent only after the deletion's RCU wait.
      expect(order).toEqual(['dump', 'delete']);
    } finally {
      slow.socket.close();
      quick.socket.close();
    }
  });
});
