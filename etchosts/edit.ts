/**
 * Pure edits of hosts-file text (H3; as Docker). Records are validated
 * before anything is computed, so a bad record never yields new text (H5).
 */
import { hostnameProblem } from '../common/dns-name.js';
import { InvalidHostsIpError, InvalidHostsNameError } from './errors.js';
import { canonicalIp } from '../common/ip.js';
import { formatHostsLine, validateHostsRecords, type HostsRecord } from './entries.js';

/** Split file text into lines as Go's bufio.ScanLines does (a trailing CR is dropped). */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/**
 * Append one line per record (as Docker; join). No de-duplication. A last line
 * without its newline is terminated first, so a record never merges into it.
 */
export function addRecords(text: string, recs: readonly HostsRecord[]): string {
  const valid = validateHostsRecords(recs);
  if (valid.length === 0) return text;
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return base + valid.map(formatHostsLine).join('');
}

/** True when `line` is exactly `<ip><spaces?>\t<hosts>` for one of the records (as Docker). */
function matchesAny(line: string, recs: readonly HostsRecord[]): boolean {
  return recs.some((rec) => {
    const suffix = `\t${rec.hosts}`;
    if (!line.endsWith(suffix)) return false;
    return canonicalIp(line.slice(0, -suffix.length).trim()) === rec.ip;
  });
}

/**
 * Remove the lines of the given records (H3; as Docker): a line goes only when
 * it ends with TAB + exactly the record's names and what precedes is the same
 * address. Comments and every other line survive; empty lines are dropped.
 */
export function removeRecords(text: string, recs: readonly HostsRecord[]): string {
  const valid = validateHostsRecords(recs);
  if (valid.length === 0) return text;
  return splitLines(text)
    .filter((line) => line !== '' && (line.startsWith('#') || !matchesAny(line, valid)))
    .map((line) => `${line}\n`)
    .join('');
}

/** Escape a host name for use inside a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Check updateRecord's arguments (H5) and return the canonical address. */
export function validateUpdate(ip: string, hostname: string): string {
  const canonical = canonicalIp(ip);
  if (canonical === undefined) throw new InvalidHostsIpError(ip, 'not a plain IPv4 or IPv6 address');
  const problem = hostnameProblem(hostname);
  if (problem !== undefined) throw new InvalidHostsNameError(hostname, hostname, problem);
  return canonical;
}

/**
 * Give every line whose first name is `hostname` (or `hostname.<domain>`) the
 * address `ip` (as Docker; legacy link fix-ups). `prefixAndMore` is untouched.
 */
export function updateRecord(text: string, ip: string, hostname: string): string {
  const canonical = validateUpdate(ip, hostname);
  // Go's RE2 `(\S*)(\t<name>)(\s|\.)`, with RE2's ASCII-only \s and \S.
  const re = new RegExp(`([^\\t\\n\\f\\r ]*)(\\t${escapeRegExp(hostname)})([\\t\\n\\f\\r .])`, 'g');
  return text.replace(re, (_all, _ip: string, name: string, next: string) => `${canonical}${name}${next}`);
}
