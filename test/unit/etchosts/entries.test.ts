import { describe, expect, it } from 'vitest';
import { canonicalIp as canonicalHostsIp } from '../../../common/ip.js';
import { hostsNamesFor, validateHostsRecord } from '../../../etchosts/entries.js';

/** The error code a call throws, or 'no error'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return (err as { code?: string }).code ?? 'untyped';
  }
}

describe('hostsNamesFor', () => {
  it.each([
    ['somehost.example.com', undefined, 'somehost.example.com somehost'],
    ['testhostname', 'testdomainname', 'testhostname.testdomainname testhostname'],
    ['abc', undefined, 'abc'],
    ['abc', '', 'abc'],
    ['c1.invalid', undefined, 'c1.invalid c1'],
    ['testhostname.testdomainname.com', undefined, 'testhostname.testdomainname.com testhostname'],
  ])('H2 Docker H10 names for hostname %j domain %j are %j', (hostname, domain, expected) => {
    expect(hostsNamesFor(hostname, domain)).toBe(expected);
  });

  it.each([['my host'], ['a\tb'], ['a\nb'], ['a#b'], [''], ['x'.repeat(64)]])(
    'H5 a hostname %j with a space, tab, newline, # or a long label is rejected',
    (hostname) => {
      expect(codeOf(() => hostsNamesFor(hostname))).toBe('ERR_HOSTS_INVALID_NAME');
    },
  );

  it('H5 a bad domainname is rejected too', () => {
    expect(codeOf(() => hostsNamesFor('web', 'ex ample.com'))).toBe('ERR_HOSTS_INVALID_NAME');
  });
});

describe('validateHostsRecord', () => {
  it.each([
    ['fe00::0', 'fe00::'],
    ['FF02::0001', 'ff02::1'],
    ['2001:0db8:0000::1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['10.11.12.13', '10.11.12.13'],
  ])('H1 address %j is written in canonical form %j', (ip, canonical) => {
    expect(validateHostsRecord({ ip, hosts: 'a' })).toEqual({ ip: canonical, hosts: 'a' });
  });

  it.each([
    ['newline', 'good\nevil'],
    ['newline that injects a line', 'good\n1.2.3.4 evil'],
    ['tab', 'good\tevil'],
    ['carriage return', 'good\r'],
    ['#', 'good#comment'],
    ['leading space', ' good'],
    ['trailing space', 'good '],
    ['doubled space', 'good  other'],
    ['64-byte label', `${'a'.repeat(64)}.example`],
    ['name over 253 chars', Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')],
    ['empty names', ''],
    ['non-ASCII', 'café'],
  ])('H5 names with a %s are rejected with ERR_HOSTS_INVALID_NAME', (_what, hosts) => {
    expect(codeOf(() => validateHostsRecord({ ip: '10.0.0.2', hosts }))).toBe('ERR_HOSTS_INVALID_NAME');
  });

  it('H5 the error names the bad name and has status 400', () => {
    try {
      validateHostsRecord({ ip: '10.0.0.2', hosts: 'ok bad#name' });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_HOSTS_INVALID_NAME', status: 400, details: { name: 'bad#name' } });
    }
  });

  it.each([['1.2.3.4.5'], ['256.1.1.1'], ['010.0.0.1'], ['10.0.0.0/8'], ['fe80::1%eth0'], ['host'], [''], ['1.2.3.4\n']])(
    'H5 address %j is rejected with ERR_HOSTS_INVALID_IP (400)',
    (ip) => {
      expect(codeOf(() => validateHostsRecord({ ip, hosts: 'a' }))).toBe('ERR_HOSTS_INVALID_IP');
    },
  );

  it('H5 a 63-byte label and a 253-character name are accepted', () => {
    const long = [61, 63, 63, 63].map((n) => 'a'.repeat(n)).join('.');
    expect(long.length).toBe(253);
    expect(validateHostsRecord({ ip: '10.0.0.2', hosts: `${'b'.repeat(63)} ${long}` }).ip).toBe('10.0.0.2');
  });

  it('H1 canonicalHostsIp returns undefined for non-addresses', () => {
    expect(canonicalHostsIp('example.com')).toBeUndefined();
    expect(canonicalHostsIp('::1')).toBe('::1');
  });
});
