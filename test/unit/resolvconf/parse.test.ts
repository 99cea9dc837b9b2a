import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { option, parseResolvConf } from '../../../resolvconf/parse.js';
import { renderResolvConf } from '../../../resolvconf/render.js';

const golden = (name: string): string =>
  readFileSync(new URL(`../../fixtures/resolvconf/${name}`, import.meta.url), 'utf8');

describe('TestRCOption', () => {
  it.each([
    ['', 'ndots', undefined],
    ['ndots:0 edns0', 'trust-ad', undefined],
    ['ndots:0 edns0', 'ndots', '0'],
    ['ndots:0 edns0', 'edns0', ''],
    ['ndots:0 edns0 ndots:1', 'ndots', '1'],
  ])('C1 options %j, option(%j) is %j (the last one wins)', (options, name, expected) => {
    expect(option(parseResolvConf(`options ${options}`, ''), name)).toBe(expected);
  });
});

describe('parseResolvConf', () => {
  it('C1 TestRCInvalidNS: an unparsable nameserver is reported in the trailer, not used', () => {
    const conf = parseResolvConf('nameserver 1.2.3.4.5', '');
    expect(conf.nameservers).toEqual([]);
    expect(conf.invalidNameservers).toEqual(['1.2.3.4.5']);
    expect(renderResolvConf(conf)).toBe(golden('TestRCInvalidNS.golden'));
  });

  it('C1 TestRCUnknownDirectives: unknown lines are kept verbatim and move after the options', () => {
    const input = '\nsomething unexpected\nnameserver 127.0.0.53\noptions ndots:1\nunrecognised thing\n';
    const conf = parseResolvConf(input, '/etc/resolv.conf');
    expect(conf.other).toEqual(['something unexpected', 'unrecognised thing']);
    expect(renderResolvConf(conf)).toBe(golden('TestRCUnknownDirectives.golden'));
  });

  it('C1 TestRCParseErrors: a 65537-byte line is ERR_RESOLVCONF_LINE_TOO_LONG with Docker\'s message', () => {
    expect(() => parseResolvConf('a'.repeat(65537), '/etc/resolv.conf')).toThrow(
      expect.objectContaining({
        code: 'ERR_RESOLVCONF_LINE_TOO_LONG',
        message: 'failed to parse resolv.conf from /etc/resolv.conf: line too long (exceeds 65536)',
      }),
    );
  });

  it('C1 a line of exactly 65536 bytes is accepted; multi-byte characters count as bytes', () => {
    expect(parseResolvConf(`${'a'.repeat(65536)}\n`, 'x').other).toHaveLength(1);
    expect(() => parseResolvConf('é'.repeat(32769), 'x')).toThrow(expect.objectContaining({ code: 'ERR_RESOLVCONF_LINE_TOO_LONG' }));
  });

  it('C1 TestGetNameservers edge cases: order, surrounding whitespace, commented lines', () => {
    expect(parseResolvConf('nameserver 1.2.3.4\nnameserver 40.3.200.10\nsearch example.com', '').nameservers).toEqual([
      '1.2.3.4',
      '40.3.200.10',
    ]);
    expect(parseResolvConf('search example.com', '').nameservers).toEqual([]);
    expect(parseResolvConf('', '').nameservers).toEqual([]);
    expect(parseResolvConf('  nameserver 1.2.3.4   ', '').nameservers).toEqual(['1.2.3.4']);
    expect(parseResolvConf('#nameserver 4.3.2.1', '').nameservers).toEqual([]);
    expect(parseResolvConf(';nameserver 4.3.2.1\n  # nameserver 4.3.2.2', '').nameservers).toEqual([]);
  });

  it('C1 a trailing comment after a nameserver is ignored; only the first argument is the address', () => {
    expect(parseResolvConf('nameserver 1.2.3.4 # not 4.3.2.1', '').nameservers).toEqual(['1.2.3.4']);
  });

  it('C1 TestGetSearchDomains: the last search/domain line wins; tabs work; comments are not stripped', () => {
    expect(parseResolvConf('search foo.example.com example.com', '').search).toEqual(['foo.example.com', 'example.com']);
    expect(parseResolvConf('search\tfoo.example.com\tbar.example.com\nsearch example.com', '').search).toEqual(['example.com']);
    expect(parseResolvConf('search a.example\ndomain b.example', '').search).toEqual(['b.example']);
    expect(parseResolvConf('# ignored', '').search).toEqual([]);
    // New parser (Docker C1): trailing "# comments" become tokens.
    expect(parseResolvConf('search example.com # ignored', '').search).toEqual(['example.com', '#', 'ignored']);
  });

  it('C1 TestGetOptions (new parser): options accumulate over lines', () => {
    expect(parseResolvConf('options opt1 opt2\noptions opt3 opt4', '').options).toEqual(['opt1', 'opt2', 'opt3', 'opt4']);
  });

  it('C1 a known directive without argument is ignored; an unknown one-word line is kept', () => {
    const conf = parseResolvConf('nameserver\nsearch\ndomain\noptions\nsortlist', '');
    expect(conf).toMatchObject({ nameservers: [], search: [], options: [], other: ['sortlist'] });
  });

  it('C1 addresses are canonical (netip form), zones kept, CRLF line ends tolerated', () => {
    const conf = parseResolvConf('nameserver FE80::BB1%eth0\r\nnameserver 2001:0db8::0001\r\nnameserver ::ffff:1.2.3.4\r\n', '');
    expect(conf.nameservers).toEqual(['fe80::bb1%eth0', '2001:db8::1', '::ffff:1.2.3.4']);
  });

  it.each([['010.0.0.1'], ['10.0.0.0/8'], ['fe80::1%'], ['dns.example']])('C1 nameserver %j is invalid', (ns) => {
    expect(parseResolvConf(`nameserver ${ns}`, '').invalidNameservers).toEqual([ns]);
  });

  it('C5 ndots from the origin file is recorded as host, even an invalid one', () => {
    expect(parseResolvConf('options ndots:-1', '').ndotsFrom).toBe('host');
    expect(parseResolvConf('options edns0', '').ndotsFrom).toBeUndefined();
  });
});
