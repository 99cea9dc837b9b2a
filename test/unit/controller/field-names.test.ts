/**
 * A refusal names the field the caller sent (the API body's name, which the CLI flag maps to), never an internal
 * one: `name` for a sandbox's name, `dnsSearch` / `dnsOptions` for the resolv.conf overrides, and a readable
 * "<field>: <problem>" for a bad DNS name.
 */
import { describe, expect, it } from 'vitest';
import { normalizeSandboxOptions } from '../../../controller/options.js';
import { applyOverrides, parseResolvConf } from '../../../resolvconf/index.js';
import { assertValidHostname } from '../../../common/dns-name.js';

describe('field names in refusals', () => {
  it('L1 name, dnsSearch, dnsOptions, and "<field>: <problem>" for DNS names', () => {
    expect(() => normalizeSandboxOptions('a/b', { external: true }, '/etc/netns')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', details: expect.objectContaining({ field: 'name' }) }));
    const conf = parseResolvConf('nameserver 192.0.2.1\n', '/x');
    expect(() => applyOverrides(conf, { search: ['bad domain'] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'dnsSearch' }) }));
    expect(() => applyOverrides(conf, { options: ['nd ots'] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'dnsOptions' }) }));
    expect(() => assertValidHostname('a..b', 'domainname')).toThrow(/domainname: it has an empty label/);
  });
});
