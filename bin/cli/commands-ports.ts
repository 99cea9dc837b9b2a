/**
 * `sandns port` (as `docker port`) and `sandns stats` (libcontainer's
 * NetworkStats per interface), and the connect flags for published and
 * exposed ports, parsed from Docker's syntax.
 */
import type { Command } from 'commander';
import type { LinkCounters, PortMapping } from '../../drivers/index.js';
import { objectSegment, type CliContext } from './context.js';
import { PortNotPublishedError, UsageError } from './errors.js';
import { renderTable } from './table.js';

/**
 * The drivers' pure port-spec functions, loaded on first use: the drivers' door also brings rtnetlink, nft and
 * execa (~130 ms of start-up here), which every other command (and each OCI hook call) would pay for nothing.
 */
const drivers = (): Promise<typeof import('../../drivers/index.js')> => import('../../drivers/index.js');

/** One published port as the API lists it. */
export interface PortRow extends PortMapping {
  readonly network: string;
  readonly endpoint: string;
}

/** One interface's counters as the API gives them. */
export type StatsRow = { readonly network: string; readonly ifname: string } & LinkCounters;

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** `-p` values (Docker's syntax, repeatable) as the API's `publish` list. */
export async function publishList(values: readonly string[]): Promise<Record<string, unknown>[]> {
  const { parsePublish } = await drivers();
  return values.flatMap((v) => usage(() => parsePublish(v, '--publish')).map((p) => ({ ...p })));
}

/** `--expose` values as the API's `expose` list. */
export async function exposeList(values: readonly string[]): Promise<Record<string, unknown>[]> {
  const { parseExpose } = await drivers();
  return values.flatMap((v) => usage(() => parseExpose(v, '--expose')).map((p) => ({ ...p })));
}

/** `sandns port` output: `80/tcp -> 0.0.0.0:8080`, one line per mapping (two for a wildcard of both families), as docker port. */
export async function portLines(rows: readonly PortRow[], filter?: string): Promise<string> {
  const { formatMapping } = await drivers();
  const [port, proto] = (filter ?? '').split('/');
  const kept = rows.filter((r) => filter === undefined || (String(r.containerPort) === port && (proto === undefined || r.protocol === proto)));
  return kept.flatMap((r) => formatMapping(r)).map((l) => `${l}\n`).join('');
}

/** `sandns stats` table. */
export function statsTable(list: readonly { sandbox: string; interfaces: readonly StatsRow[] }[]): string {
  return renderTable(
    ['SANDBOX', 'NETWORK', 'IFNAME', 'RX BYTES', 'RX PACKETS', 'RX ERRORS', 'RX DROPPED', 'TX BYTES', 'TX PACKETS', 'TX ERRORS', 'TX DROPPED'],
    list.flatMap((s) => s.interfaces.map((i) => [s.sandbox, i.network, i.ifname, i.rxBytes, i.rxPackets, i.rxErrors, i.rxDropped, i.txBytes, i.txPackets, i.txErrors, i.txDropped])),
  );
}

/** Add `port` and `stats`. */
export function addPortCommands(program: Command, ctx: CliContext): void {
  program
    .command('port <sandbox> [port]')
    .description('list the published ports of a sandbox, as docker port: "80/tcp -> 0.0.0.0:8080" (PORT[/PROTO] filters)')
    .action(async (sandbox: string, port: string | undefined, _o: unknown, cmd: Command) => {
      if (port !== undefined && !/^\d{1,5}(\/(tcp|udp))?$/.test(port)) throw new UsageError(`port ${JSON.stringify(port)}: give PORT or PORT/tcp or PORT/udp, e.g. 80/tcp`);
      const r = await ctx.client(cmd).call<{ sandbox: string; ports: PortRow[] }>('GET', `/sandboxes/${objectSegment('sandbox', sandbox)}/ports`);
      const lines = await portLines(r.ports, port);
      if (port !== undefined && lines === '') throw new PortNotPublishedError(sandbox, port);
      ctx.emit(cmd, r.ports, () => lines);
    });

  program
    .command('stats [sandbox]')
    .description('rx/tx bytes, packets, errors and drops of each interface of a sandbox (default: every sandbox)')
    .action(async (sandbox: string | undefined, _o: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const names = sandbox !== undefined ? [sandbox] : (await client.call<{ id: string }[]>('GET', '/sandboxes')).map((s) => s.id);
      const all = await Promise.all(names.map((n) => client.call<{ sandbox: string; interfaces: StatsRow[] }>('GET', `/sandboxes/${objectSegment('sandbox', n)}/stats`)));
      ctx.emit(cmd, sandbox !== undefined ? all[0]! : all, () => statsTable(all));
    });
}
