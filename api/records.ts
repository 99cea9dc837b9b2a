/**
 * What `GET /records` lists and how `resolve` questions are normalised:
 * every name, alias, address and PTR of a network, as its resolvers serve them.
 */
import { ipFamily, reverseName as reverseNameOf } from '../common/ip.js';
import { InvalidOptionError } from '../common/errors.js';
import { defined } from './body.js';
import type { ApiEndpoint, ApiNetwork, RecordRow } from './types.js';


function kindOf(name: string, ep: ApiEndpoint | undefined): RecordRow['kind'] {
  if (ep === undefined) return undefined;
  if (name === ep.name) return 'name';
  if (ep.aliases.includes(name)) return 'alias';
  if (ep.sandbox !== undefined && name === ep.sandbox.hostname) return 'hostname';
  return 'id';
}

/** Every name, alias, address, SRV name and PTR a network's resolvers serve. */
export function recordRows(net: ApiNetwork): RecordRow[] {
  const rows: RecordRow[] = [];
  const addresses = new Map<string, ApiEndpoint | undefined>();
  for (const e of net.records.entries()) {
    const ep = net.endpoints.get(e.endpointId);
    const base = { network: net.name, name: e.name, ttl: net.ttl, endpoint: ep?.name ?? e.endpointId };
    const extra = defined({ sandbox: ep?.sandbox?.id, kind: kindOf(e.name, ep) });
    for (const [type, list] of [['A', e.v4], ['AAAA', e.v6]] as const) {
      for (const value of list) {
        rows.push({ ...base, type, value, ...extra });
        if (!addresses.has(value)) addresses.set(value, ep);
      }
    }
    // R7: every name of an endpoint answers SRV for each port it exposes, targeting its first name (its own).
    for (const p of ep?.ports ?? []) {
      rows.push({ ...base, name: `_${p.port}._${p.proto}.${e.name}`, type: 'SRV', value: `0 0 ${p.port} ${ep!.name}.${net.name}.`, ...extra });
    }
  }
  for (const [ip, ep] of addresses) {
    const target = net.records.lookupReverse(ip);
    if (target === undefined) continue;
    rows.push({ network: net.name, name: reverseName(ip), type: 'PTR', value: `${target}.`, ttl: net.ttl, endpoint: ep?.name ?? '', ...defined({ sandbox: ep?.sandbox?.id }) });
  }
  return rows;
}

/** `1.2.3.4` → `4.3.2.1.in-addr.arpa.` (RFC 1035 §3.5, RFC 3596 §2.5); the input when it is no address. */
export function reverseName(ip: string): string {
  return reverseNameOf(ip) ?? ip;
}

const QTYPE = /^(?:[A-Z][A-Z0-9]{0,9}|TYPE[0-9]{1,5})$/;

/** Check a query: type upper-cased; a PTR question given as an address becomes its reverse name. */
export function normalizeQuestion(name: unknown, type: unknown): { name: string; type: string } {
  if (typeof name !== 'string' || name === '' || name.length > 255 || /[\s\\]/.test(name)) {
    throw new InvalidOptionError('name', 'must be a DNS name of at most 255 characters, without spaces');
  }
  // RFC 1035 §2.3.4: labels of 1-63 octets (only the root, a lone ".", is empty); dig would refuse the name anyway.
  if (name !== '.' && name.replace(/\.$/, '').split('.').some((l) => l === '' || Buffer.byteLength(l) > 63)) {
    throw new InvalidOptionError('name', `${JSON.stringify(name.slice(0, 80))} has an empty label or one over 63 bytes: labels are 1-63 bytes (RFC 1035 §2.3.4)`);
  }
  const t = (typeof type === 'string' && type !== '' ? type : 'A').toUpperCase();
  if (!QTYPE.test(t)) throw new InvalidOptionError('type', 'must be a record type such as A, AAAA, PTR, SRV, MX or TYPE65');
  const isIp = ipFamily(name) !== undefined;
  return { name: t === 'PTR' && isIp ? reverseName(name) : name, type: t };
}
