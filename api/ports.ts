/**
 * Endpoint options of connect beyond names and addresses (libnetwork's
 * CreateOptionPortMapping, CreateOptionExposedPorts, CreateOptionMacAddress,
 * links, disableResolution), and the routes that read them back: the
 * sandbox's published ports (`docker port`) and its interface statistics
 * (libcontainer's NetworkStats).
 */
import { InvalidOptionError } from '../common/errors.js';
import { checkPublish, type EndpointOptions } from '../controller/index.js';
import type { Body } from './body.js';
import type { ApiResponse } from './types.js';
import type { Ctx } from './handlers.js';

/** The connect body fields this file reads. */
export const PORT_FIELDS = ['publish', 'expose', 'macAddress', 'links', 'disableResolution'];

function list(body: Body, key: string): unknown[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new InvalidOptionError(key, 'must be a list');
  return v;
}

/** `expose: [{port, protocol}]` as the controller's exposed ports (values checked there). */
function exposed(body: Body): EndpointOptions['ports'] {
  return list(body, 'expose')?.map((e) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new InvalidOptionError('expose', 'each entry must be {port, protocol}');
    const o = e as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => k !== 'port' && k !== 'protocol');
    if (extra !== undefined) throw new InvalidOptionError('expose', `unknown field "${extra}" (known: port, protocol)`);
    return { port: o.port as number, proto: (o.protocol ?? 'tcp') as 'tcp' | 'udp' };
  });
}

/** `links`: `{alias: target}`, or Docker's list of `target[:alias]`. */
function links(body: Body): Record<string, string> | undefined {
  const v = body.links;
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    return Object.fromEntries(v.map((l) => {
      // More than one ':' is refused, as Docker's link parser does (a:b:c is no link, not a link b → a).
      if (typeof l !== 'string' || l === '' || l.split(':').length > 2) throw new InvalidOptionError('links', `each entry must be "target" or "target:alias", not ${JSON.stringify(String(l).slice(0, 80))}`);
      const [target, alias] = l.split(':', 2) as [string, string | undefined];
      return [alias ?? target, target];
    }));
  }
  if (typeof v !== 'object' || v === null || Object.values(v).some((t) => typeof t !== 'string')) {
    throw new InvalidOptionError('links', 'must be {alias: target} or a list of "target:alias"');
  }
  return v as Record<string, string>;
}

/** The endpoint options of a connect body (shapes only; the controller checks the values). */
export function endpointExtras(body: Body): Partial<EndpointOptions> {
  const mac = body.macAddress;
  if (mac !== undefined && typeof mac !== 'string') throw new InvalidOptionError('macAddress', 'must be a string such as 02:42:ac:11:00:02');
  const dr = body.disableResolution;
  if (dr !== undefined && typeof dr !== 'boolean') throw new InvalidOptionError('disableResolution', 'must be a boolean');
  // Checked here too, so a malformed entry is a 400 naming it before anything is looked up.
  const publish = body.publish === undefined ? undefined : checkPublish(body.publish);
  const ports = exposed(body);
  const l = links(body);
  return {
    ...(publish === undefined ? {} : { publish }),
    ...(ports === undefined ? {} : { ports }), ...(l === undefined ? {} : { links: l }),
    ...(mac === undefined ? {} : { macAddress: mac }), ...(dr === undefined ? {} : { disableResolution: dr }),
  };
}

/** `GET /sandboxes/:sandbox/ports`: every published port of the sandbox, `docker port`'s data. */
export function sandboxPorts({ params, deps }: Ctx): ApiResponse {
  const sb = deps.controller.sandbox(params.sandbox!);
  const ports = sb.info().endpoints.flatMap((e) => e.ports.map((p) => ({ network: e.network, endpoint: e.name, ...p })));
  return { status: 200, body: { sandbox: sb.id, ports } };
}

/** `GET /sandboxes/:sandbox/stats`: `{sandbox, interfaces: [{network, ifname, rxBytes, … txDropped}]}`. */
export async function sandboxStats({ params, deps }: Ctx): Promise<ApiResponse> {
  const sb = deps.controller.sandbox(params.sandbox!);
  const stats = await deps.controller.stats(sb);
  return { status: 200, body: { sandbox: sb.id, interfaces: stats.map((s) => ({ network: s.network, ifname: s.ifname, ...s.counters })) } };
}
