/**
 * Published and exposed ports, checked once at the edge (G9): the API's
 * objects and Docker's `-p` / `--expose` syntax (Docker's `nat.ParsePortSpec`)
 * become PublishSpec / ExposedPort values, or ERR_INVALID_OPTION naming the
 * field and the fix.
 */
import { InvalidOptionError } from '../../common/errors.js';
import { canonicalIp } from '../../common/ip.js';
import type { ExposedPort, Protocol, PublishSpec } from './types.js';

const PUBLISH_FIELDS = ['hostIp', 'hostPort', 'hostPortEnd', 'containerPort', 'protocol'];

function port(field: string, v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new InvalidOptionError(field, `${what} must be an integer between 1 and 65535`);
  }
  return v;
}

function protocol(field: string, v: unknown): Protocol {
  if (v === undefined) return 'tcp';
  if (v !== 'tcp' && v !== 'udp') throw new InvalidOptionError(field, 'protocol must be "tcp" or "udp"');
  return v;
}

/** Check one API `publish` entry `{hostIp?, hostPort?, hostPortEnd?, containerPort, protocol?}`. */
export function normalizePublishSpec(raw: unknown, field = 'publish'): PublishSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOptionError(field, 'each entry must be an object {hostIp?, hostPort?, hostPortEnd?, containerPort, protocol}');
  }
  const o = raw as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !PUBLISH_FIELDS.includes(k));
  if (extra !== undefined) throw new InvalidOptionError(`${field}.${extra}`, `unknown field "${extra}" (known: ${PUBLISH_FIELDS.join(', ')})`);
  let hostIp: string | undefined;
  if (o.hostIp !== undefined && o.hostIp !== '') {
    hostIp = typeof o.hostIp === 'string' ? canonicalIp(o.hostIp) : undefined;
    if (hostIp === undefined) throw new InvalidOptionError(`${field}.hostIp`, `hostIp ${JSON.stringify(o.hostIp)} is not an IPv4 or IPv6 address`);
  }
  const hostPort = o.hostPort === undefined || o.hostPort === 0 ? undefined : port(`${field}.hostPort`, o.hostPort, 'hostPort');
  const hostPortEnd = o.hostPortEnd === undefined ? undefined : port(`${field}.hostPortEnd`, o.hostPortEnd, 'hostPortEnd');
  if (hostPortEnd !== undefined && (hostPort === undefined || hostPortEnd < hostPort)) {
    throw new InvalidOptionError(`${field}.hostPortEnd`, 'hostPortEnd needs a hostPort at or below it');
  }
  return {
    ...(hostIp === undefined ? {} : { hostIp }),
    ...(hostPort === undefined ? {} : { hostPort }),
    ...(hostPortEnd === undefined || hostPortEnd === hostPort ? {} : { hostPortEnd }),
    containerPort: port(`${field}.containerPort`, o.containerPort, 'containerPort'),
    protocol: protocol(`${field}.protocol`, o.protocol),
  };
}

/** Check the API's `publish` list. */
export function normalizePublishSpecs(raw: unknown, field = 'publish'): PublishSpec[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InvalidOptionError(field, 'must be a list of {hostIp?, hostPort?, hostPortEnd?, containerPort, protocol}');
  return raw.map((r, i) => normalizePublishSpec(r, `${field}[${i}]`));
}

/** Check the API's `expose` list `[{port, protocol}]`. */
export function normalizeExposedPorts(raw: unknown, field = 'expose'): ExposedPort[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InvalidOptionError(field, 'must be a list of {port, protocol}');
  return raw.map((r: unknown) => {
    if (typeof r !== 'object' || r === null) throw new InvalidOptionError(field, 'each entry must be {port, protocol}');
    const o = r as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => k !== 'port' && k !== 'protocol');
    if (extra !== undefined) throw new InvalidOptionError(field, `unknown field "${extra}" (known: port, protocol)`);
    return { port: port(field, o.port, 'port'), protocol: protocol(field, o.protocol) };
  });
}

function splitProto(spec: string, field: string): [string, Protocol] {
  const slash = spec.lastIndexOf('/');
  if (slash < 0) return [spec, 'tcp'];
  return [spec.slice(0, slash), protocol(field, spec.slice(slash + 1).toLowerCase())];
}

function portRange(text: string, field: string, what: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m === null) throw new InvalidOptionError(field, `${what} ${JSON.stringify(text)} must be a port or a range PORT-PORT`);
  const a = port(field, Number(m[1]), what);
  const b = m[2] === undefined ? a : port(field, Number(m[2]), what);
  if (b < a) throw new InvalidOptionError(field, `${what} range ${text} ends before it starts`);
  return [a, b];
}

function splitHost(rest: string, field: string): { ip: string | undefined; host: string } {
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0 || rest[end + 1] !== ':') throw new InvalidOptionError(field, `${JSON.stringify(rest)}: write an IPv6 host address as [ADDR]:PORT:PORT`);
    return { ip: rest.slice(1, end), host: rest.slice(end + 2) };
  }
  const colon = rest.lastIndexOf(':');
  return colon < 0 ? { ip: undefined, host: rest } : { ip: rest.slice(0, colon), host: rest.slice(colon + 1) };
}

/**
 * Parse Docker's `-p` syntax `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|/udp]`:
 * `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`, `[::1]:8080:80`, `8000-8010:80` (one free port of
 * the range), `8000-8002:80-82` (three mappings), `80-82` (three ephemeral ones).
 */
export function parsePublish(text: string, field = 'publish'): PublishSpec[] {
  const [body, proto] = splitProto(text.trim(), field);
  const lastColon = body.lastIndexOf(':');
  const [c1, c2] = portRange(body.slice(lastColon + 1), field, 'container port');
  const { ip, host } = lastColon < 0 ? { ip: undefined, host: '' } : splitHost(body.slice(0, lastColon), field);
  const hostIp = ip === undefined || ip === '' ? undefined : canonicalIp(ip);
  if (ip !== undefined && ip !== '' && hostIp === undefined) throw new InvalidOptionError(field, `host address ${JSON.stringify(ip)} is not an IP address`);
  const base = { ...(hostIp === undefined ? {} : { hostIp }), protocol: proto };
  if (host === '') return range(c1, c2).map((c) => ({ ...base, containerPort: c }));
  const [h1, h2] = portRange(host, field, 'host port');
  if (c1 === c2) return [{ ...base, hostPort: h1, ...(h2 === h1 ? {} : { hostPortEnd: h2 }), containerPort: c1 }];
  if (h2 - h1 !== c2 - c1) throw new InvalidOptionError(field, `host range ${host} and container range ${c1}-${c2} differ in length`);
  return range(c1, c2).map((c, i) => ({ ...base, hostPort: h1 + i, containerPort: c }));
}

/** Parse Docker's `--expose PORT[-END][/PROTO]`. */
export function parseExpose(text: string, field = 'expose'): ExposedPort[] {
  const [body, proto] = splitProto(text.trim(), field);
  const [a, b] = portRange(body, field, 'port');
  return range(a, b).map((p) => ({ port: p, protocol: proto }));
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}
