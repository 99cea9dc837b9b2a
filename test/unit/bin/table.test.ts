import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../../bin/cli/table.js';
import { sandboxDetail } from '../../../bin/cli/views.js';
import type { SandboxInfo } from '../../../controller/index.js';

describe('tables', () => {
  it('L1 columns are padded to the widest cell plus three spaces; empty cells print "-"', () => {
    expect(renderTable(['NAME', 'IP'], [['web', '10.0.0.2'], ['database', undefined]])).toBe(
      'NAME       IP\nweb        10.0.0.2\ndatabase   -\n',
    );
    expect(renderTable(['A'], [])).toBe('A\n');
  });

  it('L1 key/value blocks align the values', () => {
    expect(renderFields([['Name', 'n1'], ['Subnet6', undefined]])).toBe('Name:     n1\nSubnet6:  -\n');
  });
});

describe('sandbox inspect: the Listener line says why there is none (R1, C3)', () => {
  const base: SandboxInfo = {
    id: 's', netnsPath: '/run/netns/s', keyMode: 'owned', hostsPath: '/h', resolvConfPath: '/r', listening: false, disableResolution: false,
    dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], extServers: [], endpoints: [],
  };
  const listener = (s: SandboxInfo): string => /^Listener:\s+(.*)$/m.exec(sandboxDetail(s))![1]!;
  const ep = { id: 'e', name: 'e', network: 'n', aliases: [], ipv4: '10.0.0.2', ports: [], exposed: [] } as unknown as SandboxInfo['endpoints'][number];

  it('L1 listening, no endpoint yet, resolution disabled, every endpoint refusing it', () => {
    expect(listener({ ...base, listening: true, endpoints: [ep] })).toBe('127.0.0.11:53 udp+tcp');
    expect(listener(base)).toBe('not started (no endpoint yet)');
    expect(listener({ ...base, disableResolution: true, endpoints: [ep] })).toMatch(/^none \(resolution disabled/);
    expect(listener({ ...base, endpoints: [ep] })).toMatch(/^not started \(every endpoint refuses resolution/);
  });
});
