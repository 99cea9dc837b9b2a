/**
 * `sandns connect|disconnect|records|resolve|metrics|status`: attachments and what
 * the resolvers serve (L1, R15, R16).
 */
import type { Command } from 'commander';
import type { RecordRow } from '../../api/index.js';
import { collect, objectSegment, type CliContext } from './context.js';
import { clusterFields, connectLine, recordsTable, resolveView, type ConnectResult, type ResolveResult } from './views.js';
import { renderFields } from './table.js';
import { exposeList, publishList } from './commands-ports.js';
import { UsageError } from './errors.js';

const seg = encodeURIComponent;

interface ConnectFlags {
  alias: string[];
  ip?: string;
  ip6?: string;
  publish: string[];
  expose: string[];
  macAddress?: string;
  priority?: number;
  link: string[];
  disableResolution?: boolean;
  ifname?: string;
}

/** The API body of `connect`, from its flags. */
export async function connectBody(sandbox: string, o: ConnectFlags): Promise<Record<string, unknown>> {
  if (o.priority !== undefined && !Number.isInteger(o.priority)) throw new UsageError('--priority must be an integer');
  return {
    sandbox, ...(o.alias.length ? { aliases: o.alias } : {}), ...(o.ip ? { ip: o.ip } : {}), ...(o.ip6 ? { ip6: o.ip6 } : {}),
    ...(o.publish.length ? { publish: await publishList(o.publish) } : {}), ...(o.expose.length ? { expose: await exposeList(o.expose) } : {}),
    ...(o.macAddress ? { macAddress: o.macAddress } : {}), ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.link.length ? { links: o.link } : {}), ...(o.disableResolution === true ? { disableResolution: true } : {}),
    ...(o.ifname === undefined ? {} : { ifname: o.ifname }),
  };
}

/** Add connect and disconnect. */
export function addDnsCommands(program: Command, ctx: CliContext): void {
  program
    .command('connect <network> <sandbox>')
    .description('attach a sandbox to a network; its name (and aliases) resolve at once for every peer')
    .option('--alias <name>', 'network-scoped alias (repeatable)', collect, [])
    .option('--ip <ip>', 'IPv4 address (default: the next free one)')
    .option('--ip6 <ip>', 'IPv6 address (IPv6 networks)')
    .option('-p, --publish <spec>', 'publish a port, Docker syntax [HOST_IP:][HOST_PORT[-END]:]PORT[-END][/tcp|udp] (repeatable)', collect, [])
    .option('--expose <port>', 'expose PORT[-END][/tcp|udp] in SRV records without publishing it (repeatable)', collect, [])
    .option('--mac-address <mac>', 'MAC address of the interface in the sandbox')
    .option('--priority <n>', 'gateway priority: the highest non-internal network carries the default route', Number)
    .option('--link <target:alias>', 'legacy link: ALIAS resolves to TARGET for this sandbox only (repeatable)', collect, [])
    .option('--disable-resolution', 'this endpoint does not use the embedded resolver')
    .option('--ifname <name>', 'interface name in the sandbox (default: the lowest free eth<N>)')
    .action(async (network: string, sandbox: string, o: ConnectFlags, cmd: Command) => {
      const body = await connectBody(sandbox, o);
      const r = await ctx.client(cmd).call<ConnectResult>('POST', `/networks/${objectSegment('network', network)}/connect`, body);
      ctx.emit(cmd, r, (x) => connectLine('connected to', x));
    });

  program
    .command('disconnect <network> <sandbox>')
    .description('detach a sandbox from a network; its names stop resolving at once')
    .action(async (network: string, sandbox: string, _o: unknown, cmd: Command) => {
      const r = await ctx.client(cmd).call<ConnectResult>('POST', `/networks/${objectSegment('network', network)}/disconnect`, { sandbox });
      ctx.emit(cmd, r, (x) => connectLine('disconnected from', x));
    });
}

/** Add records, resolve, metrics and status. */
export function addQueryCommands(program: Command, ctx: CliContext): void {
  program
    .command('records')
    .description('every name, alias, address and PTR the resolvers serve')
    .option('--network <name>', 'only this network')
    .action(async (o: { network?: string }, cmd: Command) => {
      const q = o.network === undefined ? '' : `?network=${seg(o.network)}`;
      ctx.emit(cmd, await ctx.client(cmd).call<RecordRow[]>('GET', `/records${q}`), recordsTable);
    });

  program
    .command('resolve <sandbox> <name>')
    .description("ask the sandbox's own 127.0.0.11 from inside its namespace, and explain the answer")
    .option('--type <type>', 'record type (A, AAAA, PTR, SRV, MX ...); PTR takes an address too', 'A')
    .option('--tcp', 'ask over TCP')
    .action(async (sandbox: string, name: string, o: { type: string; tcp?: boolean }, cmd: Command) => {
      const body = { name, type: o.type, ...(o.tcp ? { tcp: true } : {}) };
      ctx.emit(cmd, await ctx.client(cmd).call<ResolveResult>('POST', `/sandboxes/${objectSegment('sandbox', sandbox)}/resolve`, body), resolveView);
    });

  program
    .command('metrics')
    .description('the Prometheus text the daemon serves on GET /metrics')
    .action(async (_o: unknown, cmd: Command) => {
      ctx.io.stdout(await ctx.client(cmd).text('/metrics'));
    });

  program
    .command('status')
    .description("the daemon's health (exit 3 when it is not running)")
    .action(async (_o: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const h = await client.call<Record<string, string | number>>('GET', '/healthz');
      const cluster = await client.call<Record<string, unknown>>('GET', '/cluster').catch(() => ({ configured: false }));
      ctx.emit(cmd, { ...h, cluster }, ({ cluster: c, ...x }) => renderFields(Object.entries(x)) + clusterFields(c));
    });
}
