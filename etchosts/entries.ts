/**
 * Hosts records: the names rule (as Docker), validation (H5) and the
 * line format `IP<TAB>names` with the canonical address (as Docker).
 */
import { canonicalIp } from '../common/ip.js';
import { hostnameProblem } from '../common/dns-name.js';
import { InvalidHostsIpError, InvalidHostsNameError } from './errors.js';

/** One hosts-file record: an address and its space-separated names (as Docker). */
export interface HostsRecord {
  ip: string;
  hosts: string;
}

/** True when a canonical address is IPv6 (v4-mapped included, as netip's Is6). */
export function isIpv6(canonicalIp: string): boolean {
  return canonicalIp.includes(':');
}

/** Throws InvalidHostsNameError unless `name` is one valid host name (H5). */
function checkName(name: string, hosts: string): void {
  const problem = name === '' ? 'empty name (leading, trailing or doubled space)' : hostnameProblem(name);
  if (problem !== undefined) throw new InvalidHostsNameError(name, hosts, problem);
}

/**
 * The names of a sandbox's own lines (as Docker): `fqdn` plus its first label
 * when the fqdn has a dot. Throws ERR_HOSTS_INVALID_NAME for a bad part (H5),
 * so a space inside a hostname can never turn into two names.
 */
export function hostsNamesFor(hostname: string, domainname?: string): string {
  checkName(hostname, hostname);
  if (domainname !== undefined && domainname !== '') checkName(domainname, domainname);
  const fqdn = domainname === undefined || domainname === '' ? hostname : `${hostname}.${domainname}`;
  const dot = fqdn.indexOf('.');
  return dot > 0 ? `${fqdn} ${fqdn.slice(0, dot)}` : fqdn;
}

/**
 * Check a record before it is written (H5) and return it with the address in
 * canonical form. Throws ERR_HOSTS_INVALID_IP or ERR_HOSTS_INVALID_NAME (400).
 */
export function validateHostsRecord(rec: HostsRecord): HostsRecord {
  const ip = canonicalIp(rec.ip); // no prefix, no zone: glibc's hosts parser takes no scope id
  if (ip === undefined) throw new InvalidHostsIpError(rec.ip, 'not a plain IPv4 or IPv6 address');
  if (rec.hosts === '') throw new InvalidHostsNameError('', rec.hosts, 'a record needs at least one name');
  for (const name of rec.hosts.split(' ')) checkName(name, rec.hosts);
  return { ip, hosts: rec.hosts };
}

/** Validate every record first, so nothing is written when one is bad (H5). */
export function validateHostsRecords(recs: readonly HostsRecord[]): HostsRecord[] {
  return recs.map(validateHostsRecord);
}

/** One hosts line, `IP<TAB>names\n`, for an already validated record (as Docker). */
export function formatHostsLine(rec: HostsRecord): string {
  return `${rec.ip}\t${rec.hosts}\n`;
}
