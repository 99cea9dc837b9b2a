import { describe, expect, it } from 'vitest';
import { connectBody } from '../../../bin/cli/commands-dns.js';
import { portLines, statsTable } from '../../../bin/cli/commands-ports.js';
import { networkBody } from '../../../bin/cli/commands-network.js';

const none = { alias: [], publish: [], expose: [], link: [] };

describe('network stack: CLI shapes', () => {
  it('connect -p/--expose/--mac-address/--priority/--link/--disable-resolution/--ifname become the API body', async () => {
    expect(await connectBody('sb', { ...none, publish: ['127.0.0.1:8080:80', '53/udp'], expose: ['9000'], macAddress: '02:42:00:00:00:01', priority: 5, link: ['db:database'], disableResolution: true, ifname: 'net1' })).toEqual({
      sandbox: 'sb',
      publish: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { containerPort: 53, protocol: 'udp' }],
      expose: [{ port: 9000, protocol: 'tcp' }], macAddress: '02:42:00:00:00:01', priority: 5, links: ['db:database'], disableResolution: true, ifname: 'net1',
    });
    await expect(connectBody('sb', { ...none, publish: ['x'] })).rejects.toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
  });

  it('network create -o and --ip-range', () => {
    expect(networkBody('n', { dns: [], opt: ['mtu=1400', 'com.docker.network.bridge.name=br0'], ipRange: '10.1.0.0/28' })).toEqual({
      name: 'n', ipRange: '10.1.0.0/28', driverOptions: { mtu: '1400', 'com.docker.network.bridge.name': 'br0' },
    });
    expect(() => networkBody('n', { dns: [], opt: ['mtu'] })).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
  });

  it('sandns port prints docker port lines, filtered by PORT[/PROTO]', async () => {
    const rows = [
      { network: 'n', endpoint: 'e', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
      { network: 'n', endpoint: 'e', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
    ];
    expect(await portLines(rows)).toBe('80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n53/udp -> 127.0.0.1:5353\n');
    expect(await portLines(rows, '53/udp')).toBe('53/udp -> 127.0.0.1:5353\n');
    expect(await portLines(rows, '53/tcp')).toBe('');
  });

  it('sandns stats table', () => {
    const t = statsTable([{ sandbox: 'sb', interfaces: [{ network: 'n', ifname: 'eth0', rxBytes: 1, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 3, txPackets: 4, txErrors: 0, txDropped: 0 }] }]);
    expect(t.split('\n')[0]).toMatch(/^SANDBOX\s+NETWORK\s+IFNAME\s+RX BYTES/);
    expect(t).toContain('eth0');
  });
});
