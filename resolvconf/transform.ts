/**
 * Transforms of a sandbox's resolv.conf (C2, C3; as Docker).
 */
import { InvalidOptionError } from '../common/errors.js';
import { parseNameserver } from './addr.js';
import { addOption } from './override.js';
import { option, type ExtServer, type ResolvConf } from './parse.js';

/** Trailer warning when there are no external servers. */
export const NO_EXTERNAL_NAMESERVERS = 'NO EXTERNAL NAMESERVERS DEFINED';

/** Prefix of the trailer warning of a legacy file left without nameservers (C3). */
export const NO_USABLE_NAMESERVERS = 'NO USABLE NAMESERVERS';

/** Options of the internal-resolver transform. */
export interface InternalResolverOptions {
  /** The embedded resolver's address (default 127.0.0.11, R1). */
  resolverAddress?: string;
  /** Options the resolver needs, added when absent (default ['ndots:0']). */
  requiredOptions?: readonly string[];
}

/** Result of the internal-resolver transform. */
export interface InternalResolverResult {
  /** The sandbox's file: only the resolver as nameserver. */
  conf: ResolvConf;
  /** Where the resolver forwards to, in order (R10, R11). */
  extServers: ExtServer[];
  /** Any ndots option was present before the transform, even an invalid one (as Docker; R9). */
  ndotsSet: boolean;
}

/** Drop ndots options without a non-negative integer value (Go strconv.Atoi; as Docker). */
function removeInvalidNdots(options: readonly string[]): string[] {
  return options.filter((opt) => {
    const colon = opt.indexOf(':');
    if ((colon < 0 ? opt : opt.slice(0, colon)) !== 'ndots') return true;
    const value = colon < 0 ? '' : opt.slice(colon + 1);
    return /^[+-]?[0-9]+$/.test(value) && BigInt(value) >= 0n && BigInt(value) <= 0x7fffffffffffffffn;
  });
}

/**
 * Make the file point at the internal resolver (C2; as Docker): every
 * nameserver becomes an external server ('host' from the origin file,
 * 'sandbox' from a `dns` override), the file lists only the resolver, invalid
 * ndots are dropped and each required option is added when absent. A `dns`
 * override equal to the resolver itself is not used (R10).
 */
export function transformForInternalResolver(conf: ResolvConf, opts: InternalResolverOptions = {}): InternalResolverResult {
  const resolver = parseNameserver(opts.resolverAddress ?? '127.0.0.11');
  if (resolver === undefined) throw new InvalidOptionError('resolverAddress', 'must be an IP address');
  const origin = conf.overridden.nameservers ? 'sandbox' : 'host';
  const warnings = [...conf.warnings];
  const extServers: ExtServer[] = [];
  for (const address of conf.nameservers) {
    if (origin === 'sandbox' && address === resolver.text) {
      warnings.push(`Not using own address (${address}) as an external nameserver`);
    } else {
      extServers.push({ address, origin });
    }
  }
  let next: ResolvConf = { ...conf, nameservers: [resolver.text] };
  for (const required of opts.requiredOptions ?? ['ndots:0']) {
    const name = required.split(':', 1)[0]!;
    if (name === 'ndots') next = { ...next, options: removeInvalidNdots(next.options) };
    if (option(next, name) === undefined) next = addOption(next, required);
  }
  if (extServers.length === 0) warnings.push(NO_EXTERNAL_NAMESERVERS);
  next = { ...next, warnings, extServers: [...extServers], transform: 'internal' };
  return { conf: next, extServers, ndotsSet: option(conf, 'ndots') !== undefined };
}

/** A legacy file, with the C3 flag for the caller's warning log. */
export interface LegacyResolvConf extends ResolvConf {
  /** No nameserver is left: the sandbox cannot resolve anything (C3). */
  readonly noUsableNameservers: boolean;
}

/** The C3 trailer warning for a file left without nameservers. */
function noUsableWarning(conf: ResolvConf): string {
  if (conf.nameservers.length === 0) return `${NO_USABLE_NAMESERVERS}: none are configured`;
  const allLoopback = conf.nameservers.every((ns) => parseNameserver(ns)?.loopback === true);
  return allLoopback
    ? `${NO_USABLE_NAMESERVERS}: the origin file lists only loopback servers, which are unreachable from the sandbox`
    : `${NO_USABLE_NAMESERVERS}: the origin file lists only loopback or IPv6 servers, which are unreachable from the sandbox without IPv6`;
}

/**
 * The file for a sandbox without the resolver (C3; as Docker): unless the
 * nameservers were overridden, loopback servers are dropped, and IPv6 ones
 * without IPv6. Unlike Docker there is no public-DNS fallback: with nothing
 * left the file keeps no nameserver, says so in its trailer and is flagged.
 */
export function transformForLegacy(conf: ResolvConf, opts: { ipv6: boolean }): LegacyResolvConf {
  const nameservers = conf.overridden.nameservers
    ? conf.nameservers
    : conf.nameservers.filter((ns) => {
        const addr = parseNameserver(ns);
        return addr !== undefined && !addr.loopback && (opts.ipv6 || !addr.ipv6);
      });
  const noUsableNameservers = nameservers.length === 0;
  const warnings = noUsableNameservers ? [...conf.warnings, noUsableWarning(conf)] : conf.warnings;
  return { ...conf, nameservers, warnings, transform: 'legacy', noUsableNameservers };
}
