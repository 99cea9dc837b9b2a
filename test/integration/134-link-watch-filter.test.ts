/**
 * The link watch's socket filter (native netlinkOnlyType): the kernel queues
 * only RTM_DELLINK for the watch, so the RTM_NEWLINK storm of a busy bridge
 * (one port added to a bridge of N ports notifies about 2N links) never
 * reaches the daemon, while every deletion still does. Checked against a
 * second, unfiltered socket subscribed to the same group in a namespace of
 * the test's own.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execa } from 'execa';
import type { NetlinkMessage, RtNetlinkSocket } from 'netlink';
import { requireNativeHelper } from '../../common/io/native.js';
import { netlinkLib } from '../../common/io/rtnetlink.js';
import { uniqueName } from '../helpers/names.js';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const native = requireNativeHelper();
const ns = uniqueName('lwf');
const path = `/run/netns/${ns}`;
const sockets: RtNetlinkSocket[] = [];

/** A socket subscribed to RTNLGRP_LINK inside the test's namespace, and the types of the messages it got. */
function subscriber(filtered: boolean): { types: number[] } {
  const nl = native.callInNetns(path, () => netlinkLib().createRtNetlink());
  sockets.push(nl);
  // As the watch's own socket: room for the burst, and no pending ENOBUFS (which netlink@0.3.0 turns into an abort).
  native.netlinkNoEnobufs!(nl.socket.address().port, path);
  nl.socket.setRecvBufferSize(4 << 20);
  if (filtered) expect(native.netlinkOnlyType!(nl.socket.address().port, RTM_DELLINK, path)).toBe(1);
  nl.addMembership('LINK');
  const got = { types: [] as number[] };
  nl.socket.on('message', (msgs: NetlinkMessage[]) => got.types.push(...msgs.map((m) => m.type)));
  return got;
}

beforeAll(() => {
  native.createNetns(path, 'test');
});

afterAll(() => {
  for (const s of sockets) s.socket.close();
  native.removeNetns(path);
});

describe('134 the link watch hears deletions only', () => {
  it('a bridge with ports: adding, changing and deleting links reaches the filtered socket as RTM_DELLINK alone, every one of them', async () => {
    const watch = subscriber(true);
    const all = subscriber(false);
    const batch = ['link add br0 type bridge', 'link set br0 up'];
    for (let i = 0; i < 20; i++) batch.push(`link add v${i} master br0 up type veth peer name p${i}`);
    batch.push('link set br0 mtu 1400');
    for (let i = 0; i < 20; i++) batch.push(`link del v${i}`);
    await execa('ip', ['-n', ns, '-batch', '-'], { input: batch.join('\n') });
    // 20 veth pairs deleted: 40 links; every one reaches both sockets.
    await vi.waitFor(() => expect(all.types.filter((t) => t === RTM_DELLINK).length).toBeGreaterThanOrEqual(40), { timeout: 5000 });
    await vi.waitFor(() => expect(watch.types.length).toBeGreaterThanOrEqual(40), { timeout: 5000 });
    expect(all.types.filter((t) => t === RTM_NEWLINK).length).toBeGreaterThan(100); // the storm the filter keeps out
    expect(new Set(watch.types)).toEqual(new Set([RTM_DELLINK]));
    expect(watch.types.length).toBe(all.types.filter((t) => t === RTM_DELLINK).length);
  });

  it('a bad argument is a TypeError, and a port no socket has changes nothing', () => {
    expect(() => native.netlinkOnlyType!(0, RTM_DELLINK)).toThrow(TypeError);
    expect(() => native.netlinkOnlyType!(1, 0x10000)).toThrow(TypeError);
    expect(native.netlinkOnlyType!(0x7ffffff0, RTM_DELLINK)).toBe(0);
  });
});
