/**
 * Result shapes (CNI spec 1.0.0 "Result Types"; 0.4.0 and 0.3.x add
 * `version: "4"|"6"` to each ips[] entry). Inside, every result is the 1.0.0
 * shape: parseResult converts a prevResult in, renderResult converts out to
 * the config's version.
 */
import { Address4, Address6 } from 'ip-address';
import { CniConfigError } from './errors.js';
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute, CniVersion } from './spec.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, key: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new CniConfigError(key, 'must be a list of strings');
  return v as string[];
}

function optString(o: Json, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new CniConfigError(`${where}.${key}`, 'must be a string');
  return v;
}

/** Parse a `dns` dictionary (result or config). */
export function parseDns(v: unknown, where: string): CniDns {
  if (v === undefined) return {};
  if (!isObject(v)) throw new CniConfigError(where, 'must be an object with nameservers, domain, search, options');
  const out: CniDns = {};
  const ns = strings(v.nameservers, `${where}.nameservers`);
  const search = strings(v.search, `${where}.search`);
  const options = strings(v.options, `${where}.options`);
  const domain = optString(v, 'domain', where);
  if (ns !== undefined) out.nameservers = ns;
  if (domain !== undefined) out.domain = domain;
  if (search !== undefined) out.search = search;
  if (options !== undefined) out.options = options;
  return out;
}

function parseInterfaces(v: unknown): CniInterface[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new CniConfigError('prevResult.interfaces', 'must be a list');
  return v.map((i: unknown, n) => {
    if (!isObject(i) || typeof i.name !== 'string') throw new CniConfigError(`prevResult.interfaces[${n}]`, 'must be an object with a name');
    const out: CniInterface = { name: i.name };
    const mac = optString(i, 'mac', 'prevResult.interfaces');
    const sandbox = optString(i, 'sandbox', 'prevResult.interfaces');
    if (mac !== undefined) out.mac = mac;
    if (sandbox !== undefined) out.sandbox = sandbox;
    return out;
  });
}

function parseIps(v: unknown): CniIpConfig[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new CniConfigError('prevResult.ips', 'must be a list');
  return v.map((i: unknown, n) => {
    const where = `prevResult.ips[${n}]`;
    if (!isObject(i) || typeof i.address !== 'string' || addressFamily(i.address) === undefined) {
      throw new CniConfigError(where, 'must have an "address" in CIDR notation (10.89.0.2/24)');
    }
    const out: CniIpConfig = { address: i.address };
    const gw = optString(i, 'gateway', where);
    if (gw !== undefined) out.gateway = gw;
    if (i.interface !== undefined) {
      if (typeof i.interface !== 'number' || !Number.isInteger(i.interface) || i.interface < 0) throw new CniConfigError(`${where}.interface`, 'must be an index into interfaces');
      out.interface = i.interface;
    }
    return out;
  });
}

function parseRoutes(v: unknown): CniRoute[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new CniConfigError('prevResult.routes', 'must be a list');
  return v.map((r: unknown, n) => {
    if (!isObject(r) || typeof r.dst !== 'string') throw new CniConfigError(`prevResult.routes[${n}]`, 'must have a "dst"');
    const out: CniRoute = { dst: r.dst };
    const gw = optString(r, 'gw', 'prevResult.routes');
    if (gw !== undefined) out.gw = gw;
    return out;
  });
}

/** Parse a prevResult of any supported version into the 1.0.0 shape (0.3.x/0.4.0 `version` fields dropped). */
export function parseResult(v: unknown): CniResult {
  if (!isObject(v)) throw new CniConfigError('prevResult', 'must be an object (the previous plugin\'s result)');
  const out: CniResult = { cniVersion: typeof v.cniVersion === 'string' ? v.cniVersion : '' };
  const interfaces = parseInterfaces(v.interfaces);
  const ips = parseIps(v.ips);
  const routes = parseRoutes(v.routes);
  if (interfaces !== undefined) out.interfaces = interfaces;
  if (ips !== undefined) out.ips = ips;
  if (routes !== undefined) out.routes = routes;
  if (v.dns !== undefined) out.dns = parseDns(v.dns, 'prevResult.dns');
  return out;
}

/** 4 or 6 for an address in CIDR notation, undefined when it is not one. */
export function addressFamily(cidr: string): 4 | 6 | undefined {
  if (!cidr.includes('/')) return undefined;
  if (Address4.isValid(cidr)) return 4;
  if (Address6.isValid(cidr)) return 6;
  return undefined;
}

/** Split "10.89.7.2/24" into the address and the network's CIDR ("10.89.7.0/24"). */
export function splitCidr(cidr: string): { address: string; subnet: string; prefix: number } {
  const a = addressFamily(cidr) === 4 ? new Address4(cidr) : new Address6(cidr);
  const address = a.correctForm();
  return { address, subnet: `${a.startAddress().correctForm()}/${a.subnetMask}`, prefix: a.subnetMask };
}

/** The result in the shape of `version`: 0.3.x and 0.4.0 carry `version` in each ips[] entry. */
export function renderResult(result: CniResult, version: CniVersion): Json {
  const out: Json = { cniVersion: version };
  if (result.interfaces !== undefined) out.interfaces = result.interfaces;
  if (result.ips !== undefined) {
    out.ips = version === '1.0.0' ? result.ips : result.ips.map((ip) => ({ version: addressFamily(ip.address) === 6 ? '6' : '4', ...ip }));
  }
  if (result.routes !== undefined) out.routes = result.routes;
  out.dns = result.dns ?? {};
  return out;
}

/** The result with sandns's DNS: 127.0.0.11 as the only nameserver (others become its upstreams), search and options merged. */
export function withSandnsDns(result: CniResult, dns: CniDns): CniResult {
  const search = [...new Set([...(dns.search ?? []), ...(result.dns?.search ?? [])])];
  const options = [...new Set([...(result.dns?.options ?? []), ...(dns.options ?? [])])];
  const domain = dns.domain ?? result.dns?.domain;
  return {
    ...result,
    dns: { nameservers: [SANDNS_NAMESERVER], ...(domain === undefined ? {} : { domain }), search, options },
  };
}

/** The embedded resolver's address inside every sandbox (R1). */
export const SANDNS_NAMESERVER = '127.0.0.11';
