/**
 * R1: a sandbox's two DNS listeners (UDP and TCP 127.0.0.11:53) are made
 * inside its namespace by one native call (one switch in, one back). Both
 * are bound there and answer there; when either cannot be made the call
 * fails as ERR_SANDBOX_LISTENER and leaves no descriptor behind.
 */
import { closeSync, readdirSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNativeHelper } from '../../common/io/native.js';
import { acquireSandboxSockets } from '../../sandbox/io/bind.js';
import { bringLoUp } from '../../sandbox/io/netns.js';
import { uniqueName } from '../helpers/names.js';

const native = requireNativeHelper();
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('105 the listeners of a sandbox', () => {
  const up = `/run/netns/${uniqueName('lsu')}`;
  const missing = `/run/netns/${uniqueName('lsm')}`; // never made

  beforeAll(async () => {
    native.createNetns(up);
    await bringLoUp(up);
  });

  afterAll(() => {
    native.removeNetns(up);
  });

  it('R1 UDP and TCP are bound to 127.0.0.11:53 inside the namespace: a datagram and a connection from inside reach them', async () => {
    const s = await acquireSandboxSockets(up);
    const client = dgram.createSocket('udp4');
    try {
      expect(s.tcp.address()).toMatchObject({ address: '127.0.0.11', port: 53 });
      // A datagram from inside the namespace reaches this listener (it is not the host's 127.0.0.11), batched or dgram.
      const got = new Promise<string>((r) => {
        if ('kind' in s.udp) s.udp.start((bytes) => r(bytes.toString()), () => undefined);
        else s.udp.on('message', (m) => r(m.toString()));
      });
      await new Promise<void>((r) => client.bind({ fd: native.socketInNetns(up, 4, 'udp') }, r));
      client.send('hello', 53, '127.0.0.11');
      expect(await got).toBe('hello');
      const accepted = new Promise<void>((r) => s.tcp.once('connection', (c) => (c.destroy(), r())));
      const conn = new net.Socket({ fd: native.socketInNetns(up, 4, 'tcp') });
      conn.on('error', () => undefined);
      conn.connect(53, '127.0.0.11');
      await accepted;
      conn.destroy();
    } finally {
      client.close();
      s.tcp.close();
      s.udp.close();
    }
  });

  it.each([
    ['the namespace does not exist', missing, undefined, 'ERR_SANDBOX_LISTENER', 500],
    ['TCP 53 is taken in the namespace', up, 'tcp', 'ERR_SANDBOX_LISTENER_IN_USE', 409],
    ['UDP 53 is taken in the namespace', up, 'udp', 'ERR_SANDBOX_LISTENER_IN_USE', 409],
  ] as const)('R1 %s: %s (%i), no descriptor left', async (_what, path, taken, code, status) => {
    const holder = taken === undefined ? undefined : native.socketInNetns(path, 4, taken, '127.0.0.11', 53, taken === 'tcp');
    try {
      const before = openFds();
      const err = await acquireSandboxSockets(path).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code, status, details: { netns: path } });
      expect(openFds()).toBe(before);
    } finally {
      if (holder !== undefined) closeSync(holder);
    }
  });
});
