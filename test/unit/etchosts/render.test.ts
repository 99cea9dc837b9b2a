import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderHosts } from '../../../etchosts/render.js';

const golden = (name: string): string =>
  readFileSync(new URL(`../../fixtures/etchosts/${name}`, import.meta.url), 'utf8');

describe('renderHosts', () => {
  it('H1 TestBuildDefault: the default content is exact and stable over 6 builds', () => {
    for (let i = 0; i <= 5; i++) {
      expect(renderHosts({ ipv6: true, extra: [], own: [] })).toBe(golden('default.golden'));
    }
  });

  it('H1 TestBuildNoIPv6: without IPv6 only 127.0.0.1 and the IPv4 extra records remain', () => {
    const extra = [
      { hosts: 'another.example', ip: 'fdbb:c59c:d015::3' },
      { hosts: 'another.example', ip: '10.11.12.13' },
    ];
    expect(renderHosts({ ipv6: false, extra, own: [] })).toBe('127.0.0.1\tlocalhost\n10.11.12.13\tanother.example\n');
  });

  it('H1 without IPv6 own IPv6 addresses and v4-mapped ones are filtered as well', () => {
    const own = [
      { ip: '172.17.0.2', hosts: 'c1' },
      { ip: 'fd00::2', hosts: 'c1' },
      { ip: '::ffff:10.0.0.1', hosts: 'c1' },
    ];
    expect(renderHosts({ ipv6: false, extra: [], own })).toBe('127.0.0.1\tlocalhost\n172.17.0.2\tc1\n');
  });

  it('H2 TestHostsEntries: defaults then own IPv4 and IPv6 lines with fqdn and short name', () => {
    const own = [
      { ip: '192.168.222.2', hosts: 'somehost.example.com somehost' },
      { ip: 'fe90::2', hosts: 'somehost.example.com somehost' },
    ];
    expect(renderHosts({ ipv6: true, extra: [], own })).toBe(golden('TestHostsEntries.golden'));
  });

  it('H2 extra hosts come in the order given, before own lines, addresses canonical', () => {
    const extra = [
      { ip: '192.0.2.3', hosts: 'otherhost.invalid' },
      { ip: '2001:DB8:0::1234', hosts: 'otherhost.invalid' },
    ];
    const own = [{ ip: '192.168.123.2', hosts: 'c1.invalid c1' }];
    const text = renderHosts({ ipv6: true, extra, own });
    expect(text.endsWith('192.0.2.3\totherhost.invalid\n2001:db8::1234\totherhost.invalid\n192.168.123.2\tc1.invalid c1\n')).toBe(true);
  });

  it.each([
    ['10.11.12.13', 'testhostname.testdomainname testhostname', '10.11.12.13\ttesthostname.testdomainname testhostname\n'],
    ['10.11.12.13', 'testhostname', '10.11.12.13\ttesthostname\n'],
    ['10.11.12.13', 'testhostname.testdomainname.com testhostname', '10.11.12.13\ttesthostname.testdomainname.com testhostname\n'],
  ])('H2 old TestBuildHostname*: own record %s %j gives line %j after the defaults', (ip, hosts, line) => {
    expect(renderHosts({ ipv6: true, extra: [], own: [{ ip, hosts }] })).toBe(golden('default.golden') + line);
  });

  it('H2 old TestBuildNoIP: no own record means defaults only', () => {
    expect(renderHosts({ ipv6: true, extra: [], own: [] })).toBe(golden('default.golden'));
  });

  it('H5 a bad record anywhere, even a filtered IPv6 one, throws before anything is rendered', () => {
    expect(() => renderHosts({ ipv6: false, extra: [{ ip: 'fd00::1', hosts: 'bad name#' }], own: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_HOSTS_INVALID_NAME' }),
    );
  });
});
