import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addOption, applyOverrides } from '../../../resolvconf/override.js';
import { parseResolvConf } from '../../../resolvconf/parse.js';
import { renderResolvConf } from '../../../resolvconf/render.js';

const golden = (name: string): string =>
  readFileSync(new URL(`../../fixtures/resolvconf/${name}`, import.meta.url), 'utf8');

interface ModifyCase {
  name: string;
  inputNS: string[];
  inputSearch: string[];
  inputOptions: string[];
  noOverrides?: boolean;
  overrideNS?: string[];
  overrideSearch?: string[];
  overrideOptions?: string[];
  addOption?: string;
}

const filled = { inputNS: ['1.2.3.4'], inputSearch: ['invalid'], inputOptions: ['ndots:0'] };
const MODIFY_CASES: ModifyCase[] = [
  { name: 'No content no overrides', inputNS: [], inputSearch: [], inputOptions: [] },
  { name: 'No overrides', ...filled, noOverrides: true },
  { name: 'Empty overrides', ...filled },
  {
    name: 'Overrides',
    ...filled,
    overrideNS: ['2.3.4.5', 'fdba:acdd:587c::53'],
    overrideSearch: ['com', 'invalid', 'example'],
    overrideOptions: ['ndots:1', 'edns0', 'trust-ad'],
  },
  { name: 'Add option no overrides', ...filled, noOverrides: true, addOption: 'attempts:3' },
];

describe('TestRCModify', () => {
  it.each(MODIFY_CASES)('C1 $name: parse round-trips, overrides replace each list, golden output', (tc) => {
    let input = tc.inputNS.map((ns) => `nameserver ${ns}\n`).join('');
    if (tc.inputSearch.length > 0) input += `search ${tc.inputSearch.join(' ')}\n`;
    if (tc.inputOptions.length > 0) input += `options ${tc.inputOptions.join(' ')}\n`;
    let conf = parseResolvConf(input, '');
    expect(conf).toMatchObject({ nameservers: tc.inputNS, search: tc.inputSearch, options: tc.inputOptions });
    if (tc.noOverrides !== true) {
      const overrides = { nameservers: tc.overrideNS ?? [], search: tc.overrideSearch ?? [], options: tc.overrideOptions ?? [] };
      conf = applyOverrides(conf, overrides);
      expect(conf).toMatchObject(overrides);
    }
    if (tc.addOption !== undefined) {
      const before = conf.options;
      conf = addOption(conf, tc.addOption);
      expect(conf.options).toEqual([...before, tc.addOption]);
    }
    expect(renderResolvConf(conf)).toBe(golden(`TestRCModify/${tc.name.replaceAll(' ', '_')}.golden`));
  });
});

describe('applyOverrides', () => {
  const host = parseResolvConf('nameserver 10.0.0.1\nsearch host.example\noptions ndots:2 edns0\n', '/etc/resolv.conf');

  it('C1 each list is replaced independently; absent lists are kept and not recorded', () => {
    const conf = applyOverrides(host, { search: ['a.example'] });
    expect(conf).toMatchObject({
      nameservers: ['10.0.0.1'],
      search: ['a.example'],
      options: ['ndots:2', 'edns0'],
      overridden: { nameservers: false, search: true, options: false },
      ndotsFrom: 'host',
    });
  });

  it("C1 TestBuildWithZeroLengthDomainSearch: search ['.'] means no search line", () => {
    const conf = applyOverrides(host, { search: ['.'] });
    expect(conf.search).toEqual([]);
    expect(renderResolvConf(conf)).not.toMatch(/^search/m);
  });

  it('C1 TestBuildWithNoOptions: empty options give no options line and no ndots source', () => {
    const conf = applyOverrides(host, { options: [] });
    expect(conf.ndotsFrom).toBeUndefined();
    expect(renderResolvConf(conf)).not.toMatch(/^options/m);
  });

  it('C1 an invalid nameserver override is ERR_RESOLVCONF_INVALID_NAMESERVER (400)', () => {
    expect(() => applyOverrides(host, { nameservers: ['1.1.1.1', 'dns.google'] })).toThrow(
      expect.objectContaining({ code: 'ERR_RESOLVCONF_INVALID_NAMESERVER', status: 400, details: { nameserver: 'dns.google' } }),
    );
  });

  it('C1 override nameservers are canonicalised', () => {
    expect(applyOverrides(host, { nameservers: ['2001:DB8:0::53'] }).nameservers).toEqual(['2001:db8::53']);
  });

  it.each([
    [{ search: ['bad domain'] }],
    [{ search: ['evil\nnameserver 6.6.6.6'] }],
    [{ options: ['ndots:1\nnameserver 6.6.6.6'] }],
    [{ options: ['two words'] }],
    [{ options: [''] }],
  ])('C1 an override value %j that could inject a line is ERR_INVALID_OPTION', (overrides) => {
    expect(() => applyOverrides(host, overrides)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });

  it('C1 applyOverrides and addOption return new values and never change their input', () => {
    const snapshot = structuredClone(host);
    applyOverrides(host, { nameservers: ['1.1.1.1'], search: [], options: ['ndots:5'] });
    addOption(host, 'ndots:3');
    expect(host).toEqual(snapshot);
  });

  it('C2 addOption of ndots:<n> makes ndots come from internal; a bare "ndots:" does not', () => {
    expect(addOption(host, 'ndots:3').ndotsFrom).toBe('internal');
    expect(addOption(host, 'ndots:').ndotsFrom).toBe('host');
  });
});
