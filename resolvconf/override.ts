/**
 * Overrides (`dns`, `dnsSearch`, `dnsOptions`) and added options (C1;
 * as Docker). Each list given replaces the whole list and is recorded for the
 * trailer; values are checked here so none can inject a line.
 */
import { InvalidOptionError } from '../common/errors.js';
import { hostnameProblem } from '../common/dns-name.js';
import { parseNameserver } from './addr.js';
import { InvalidNameserverError } from './errors.js';
import { option, type ResolvConf } from './parse.js';

/** Per-sandbox DNS overrides; an absent list is not overridden, an empty one is. */
export interface ResolvConfOverrides {
  nameservers?: readonly string[];
  search?: readonly string[];
  options?: readonly string[];
}

/** An option token: printable, no whitespace, so it stays on the options line. */
const OPTION_TOKEN = /^[\x21-\x7e]+$/;

/** Throw ERR_INVALID_OPTION unless `opt` is one option token. */
function checkOption(opt: string, field: string): void {
  if (!OPTION_TOKEN.test(opt)) {
    throw new InvalidOptionError(field, `option ${JSON.stringify(opt)} must be one printable token without spaces`);
  }
}

/** Canonical nameservers of an override; ERR_RESOLVCONF_INVALID_NAMESERVER on a bad one. */
function overrideNameservers(list: readonly string[]): string[] {
  return list.map((ns) => {
    const addr = parseNameserver(ns);
    if (addr === undefined) throw new InvalidNameserverError(ns);
    return addr.text;
  });
}

/** Search domains of an override: '.' entries are dropped, so ['.'] means no search (as Docker). */
function overrideSearch(list: readonly string[]): string[] {
  const kept = list.filter((domain) => domain !== '.');
  for (const domain of kept) {
    const problem = hostnameProblem(domain);
    if (problem !== undefined) throw new InvalidOptionError('dnsSearch', `domain ${JSON.stringify(domain)}: ${problem}`);
  }
  return kept;
}

/**
 * Apply overrides (C1; as Docker): each given list replaces the current one
 * independently and is recorded; an options override resets where ndots came from.
 */
export function applyOverrides(conf: ResolvConf, overrides: ResolvConfOverrides): ResolvConf {
  let next = conf;
  if (overrides.nameservers !== undefined) {
    const nameservers = overrideNameservers(overrides.nameservers);
    next = { ...next, nameservers, overridden: { ...next.overridden, nameservers: true } };
  }
  if (overrides.search !== undefined) {
    const search = overrideSearch(overrides.search);
    next = { ...next, search, overridden: { ...next.overridden, search: true } };
  }
  if (overrides.options !== undefined) {
    for (const opt of overrides.options) checkOption(opt, 'dnsOptions');
    const options = [...overrides.options];
    const ndotsFrom = option({ options }, 'ndots') === undefined ? undefined : ('override' as const);
    next = { ...next, options, ndotsFrom, overridden: { ...next.overridden, options: true } };
  }
  return next;
}

/** Append one option (Docker AddOption); an `ndots:<n>` makes ndots come from 'internal'. */
export function addOption(conf: ResolvConf, opt: string): ResolvConf {
  checkOption(opt, 'option');
  const ndotsFrom = opt.length > 6 && opt.startsWith('ndots:') ? 'internal' : conf.ndotsFrom;
  return { ...conf, options: [...conf.options, opt], ndotsFrom };
}
