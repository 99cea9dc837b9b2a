/**
 * R1: when Node cannot listen on the TCP descriptor the native helper made
 * (here: a UDP socket handed over in its place), or, without the batched
 * listener (dgram), cannot take the UDP one (a TCP socket in its place), the
 * sandbox's listeners fail as ERR_SANDBOX_LISTENER instead of waiting for
 * ever, and no descriptor is left open. The helper is the real one but for
 * that swap.
 */
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniqueName } from '../helpers/names.js';

/** The descriptors handed over, with the socket each named then ("socket:[inode]"). */
const handed = vi.hoisted(() => new Map<number, string>());
/** Which descriptor is swapped: the TCP one (for a UDP socket), or the UDP one (for a TCP socket, dgram fallback). */
const swap = vi.hoisted(() => ({ which: 'tcp' as 'tcp' | 'udp' }));

vi.mock('../../sandbox/io/listener-udp.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../sandbox/io/listener-udp.js')>();
  return { ...real, nativeDatagramListener: (fd: number, max: number) => (swap.which === 'udp' ? undefined : real.nativeDatagramListener(fd, max)) };
});

vi.mock('../../common/io/native.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../common/io/native.js')>();
  const { closeSync, readlinkSync } = await import('node:fs');
  const helper = real.requireNativeHelper();
  return {
    ...real,
    requireNativeHelper: () => ({
      ...helper,
      // The real UDP listener, and a second UDP socket where the TCP one should be (the real TCP one closed).
      listenersInNetns: (nsPath: string, family: 4 | 6, address: string, port: number): [number, number] => {
        const [udp, tcp] = helper.listenersInNetns(nsPath, family, address, port);
        if (swap.which === 'udp') {
          closeSync(udp);
          const notUdp = helper.socketInNetns(nsPath, family, 'tcp', address, port + 1, true);
          for (const fd of [notUdp, tcp]) handed.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
          return [notUdp, tcp];
        }
        closeSync(tcp);
        const notTcp = helper.socketInNetns(nsPath, family, 'udp', address, port + 1);
        for (const fd of [udp, notTcp]) handed.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
        return [udp, notTcp];
      },
    }),
  };
});

const { requireNativeHelper } = await import('../../common/io/native.js');
const { acquireSandboxSockets } = await import('../../sandbox/io/bind.js');
const { bringLoUp } = await import('../../sandbox/io/netns.js');

describe('106 a TCP listener Node cannot take', () => {
  const path = `/run/netns/${uniqueName('lse')}`;

  beforeAll(async () => {
    requireNativeHelper().createNetns(path);
    await bringLoUp(path);
  });

  afterAll(() => {
    requireNativeHelper().removeNetns(path);
  });

  it.each(['tcp', 'udp'] as const)('R1 fails as ERR_SANDBOX_LISTENER, and closes both descriptors (%s swapped)', async (which) => {
    swap.which = which;
    handed.clear();
    const outcome = await Promise.race([
      acquireSandboxSockets(path).then(
        () => 'listening',
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r('no answer after 3 s'), 3000)),
    ]);
    expect(outcome).toMatchObject({ code: 'ERR_SANDBOX_LISTENER' });
    expect(handed.size).toBe(2);
    const stillOpen = [...handed].filter(([fd, socket]) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === socket;
      } catch {
        return false;
      }
    });
    expect(stillOpen).toEqual([]);
  });
});
