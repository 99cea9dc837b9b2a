/**
 * The `publish` field of connect (published ports, Docker's -p): shape
 * checked here (G9). Entries: {hostIp?, hostPort?, hostPortEnd?,
 * containerPort, protocol}; a range hostPort..hostPortEnd publishes one
 * container port on the first free host port of the range.
 */
import { InvalidOptionError } from '../common/errors.js';

/** One published port, as connect takes it. */
export interface PublishRequest {
  readonly hostIp?: string;
  readonly hostPort?: number;
  readonly hostPortEnd?: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

const FIELDS = ['hostIp', 'hostPort', 'hostPortEnd', 'containerPort', 'protocol'];

function port(v: unknown, field: string, required: boolean): number | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new InvalidOptionError(field, 'must be an integer port between 1 and 65535');
  return v;
}

/** Check `publish`; undefined when absent. Throws ERR_INVALID_OPTION naming the entry and field. */
export function parsePublish(v: unknown): PublishRequest[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new InvalidOptionError('publish', 'must be a list of {hostIp?, hostPort?, hostPortEnd?, containerPort, protocol}');
  return v.map((raw: unknown, i) => {
    const at = `publish[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidOptionError(at, 'must be an object');
    const e = raw as Record<string, unknown>;
    const extra = Object.keys(e).find((k) => !FIELDS.includes(k));
    if (extra !== undefined) throw new InvalidOptionError(`${at}.${extra}`, `unknown field (known: ${FIELDS.join(', ')})`);
    const protocol = e.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new InvalidOptionError(`${at}.protocol`, 'must be tcp, udp or sctp');
    if (e.hostIp !== undefined && (typeof e.hostIp !== 'string' || e.hostIp === '')) throw new InvalidOptionError(`${at}.hostIp`, 'must be an IP address');
    const hostPort = port(e.hostPort, `${at}.hostPort`, false);
    const hostPortEnd = port(e.hostPortEnd, `${at}.hostPortEnd`, false);
    if (hostPortEnd !== undefined && (hostPort === undefined || hostPortEnd < hostPort)) throw new InvalidOptionError(`${at}.hostPortEnd`, 'needs a hostPort not above it');
    return {
      ...(e.hostIp === undefined ? {} : { hostIp: e.hostIp as string }),
      ...(hostPort === undefined ? {} : { hostPort }),
      ...(hostPortEnd === undefined ? {} : { hostPortEnd }),
      containerPort: port(e.containerPort, `${at}.containerPort`, true)!,
      protocol,
    };
  });
}
