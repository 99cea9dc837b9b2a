/**
 * `sandns connect|disconnect|records|resolve|metrics|status`: attachments and what
 * the resolvers serve (L1, R15, R16).
 */
import type { Command } from 'commander';
import type { RecordRow } from '../../api/index.js';
import { collect, type CliContext } from './context.js';
import { connectLine, recordsTable, resolveView, type ConnectResult, type ResolveResult } from './views.js';
import { renderFields } from './table.js';

const seg = encodeURIComponent;

/** Add connect and disconnect. */
export function addDnsCommands(program: Command, ctx: CliContext): void {
  program
    .command('connect <network> <sandbox>')
    .description('attach a sandbox to a network; its name (and aliases) resolve at once for every peer')
    .option('--alias <name>', 'network-scoped alias (repeatable)', collect, [])
    .option('--ip <ip>', 'IPv4 address (default: the next free one)')
    .option('--ip6 <ip>', 'IPv6 address (IPv6 networks)')
    .action(async (network: string, sandbox: string, o: { alias: string[]; ip?: string; ip6?: string }, cmd: Command) => {
      const body = { sandbox, ...(o.alias.length ? { aliases: o.alias } : {}), ...(o.ip ? { ip: o.ip } : {}), ...(o.ip6 ? { ip6: o.ip6 } : {}) };
      const r = await ctx.client(cmd).call<ConnectResult>('POST', `/networks/${seg(network)}/connect`, body);
      ctx.emit(cmd, r, (x) => connectLine('connected to', x));
    });

  program
    .command('disconnect <network> <sandbox>')
    .description('detach a sandbox from a network; its names stop resolving at once')
    .action(async (network: string, sandbox: string, _o: unknown, cmd: Command) => {
      const r = await ctx.client(cmd).call<ConnectResult>('POST', `/networks/${seg(network)}/disconnect`, { sandbox });
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
      ctx.emit(cmd, await ctx.client(cmd).call<ResolveResult>('POST', `/sandboxes/${seg(sandbox)}/resolve`, body), resolveView);
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
      const h = await ctx.client(cmd).call<Record<string, string | number>>('GET', '/healthz');
      ctx.emit(cmd, h, (x) => renderFields(Object.entries(x)));
    });
}
