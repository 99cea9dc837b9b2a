/**
 * FS1 sandbox/io/dialer.ts: the host-side dialer gives each query a
 * connected socket bound to the egress device of its server (loopback here).
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.js';
import { egressDevice, hardenedHostDialer } from '../../../sandbox/io/dialer.js';
import { nativeConnectedUdp } from '../../../common/io/native.js';

describe('FS1 hardenedHostDialer', () => {
  it('FS1 the egress device of a loopback server is lo', async () => {
    expect(await egressDevice('127.0.0.1', 4)).toBe('lo');
    expect(await egressDevice('127.53.1.2', 4)).toBe('lo');
  });

  it.skipIf(nativeConnectedUdp() === undefined || process.getuid?.() !== 0)(
    'FS1 each socket is connected to the server, on its own port, bound to lo (ss shows %lo)',
    async () => {
      const dialer = hardenedHostDialer(silentLogger());
      const a = await dialer.udpConnect('host', '127.0.0.1', 53, 4);
      const b = await dialer.udpConnect('host', '127.0.0.1', 53, 4);
      try {
        expect(a.remoteAddress()).toMatchObject({ address: '127.0.0.1', port: 53 });
        expect(a.address().port).not.toBe(b.address().port);
        const ss = await execa('ss', ['-uanH', 'sport', '=', `:${a.address().port}`]);
        expect(ss.stdout).toContain(`127.0.0.1%lo:${a.address().port}`);
      } finally {
        a.close();
        b.close();
      }
    },
  );
});
