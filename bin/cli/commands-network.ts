/**
 * `sandns network create|ls|inspect|rm|prune` (L1; ls filters and prune as Docker's).
 */
import type { Command } from 'commander';
import type { NetworkInfo } from '../../controller/index.js';
import { collect, objectSegment, parseCount, type CliContext } from './context.js';
import { CancelledError, EXIT, UsageError } from './errors.js';
import { removeEach } from './remove-each.js';
import { networkDetail, networksTable } from './views.js';

interface CreateOptions {
  subnet?: string;
  gateway?: string;
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  internal?: boolean;
  ttl?: number;
  dns: string[];
  scope?: string;
  driver?: string;
  attachable?: boolean;
  ipRange?: string;
  opt: string[];
  label?: string[];
}

/**
 * One `KEY=VALUE` flag value split at the first "=" (the value may hold more); with `bare`, `KEY` alone is [KEY, ''].
 * Throws ERR_CLI_USAGE naming `flag` with `example`.
 */
function splitPair(p: string, flag: string, example: string, bare = false): [string, string] {
  const eq = p.indexOf('=');
  if (eq === 0 || p === '' || (eq < 0 && !bare)) throw new UsageError(`${flag} ${p}: write KEY=VALUE${bare ? ' or KEY' : ''}, e.g. ${flag} ${example}`);
  return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
}

/** `--label KEY=VALUE` / `--label KEY` (value "") as the API's labels; a later KEY wins, as Docker's. */
export function labelsOf(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => splitPair(p, '--label', 'tier=db', true)));
}

/**
 * `-f KEY=VALUE` filters (Docker's `--filter`) as the API's `filters` query value: `{"KEY":["VALUE",...]}`, split at
 * the first "=" (`label=tier=db` is the label filter `tier=db`; `label!=tier` is `label!`). Empty: no parameter.
 */
export function filtersQuery(pairs: readonly string[]): string {
  if (pairs.length === 0) return '';
  const filters: Record<string, string[]> = {};
  for (const p of pairs) {
    const [key, value] = splitPair(p, '--filter', 'label=tier=db');
    (filters[key] ??= []).push(value);
  }
  return `?filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

/** `-o key=value` pairs as driverOptions (values stay strings; the driver checks them). */
export function driverOptionsOf(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => splitPair(p, '-o', 'mtu=1400')));
}

/** The API body of `network create`, from its options. */
export function networkBody(name: string, o: CreateOptions): Record<string, unknown> {
  if (o.ipv6 === true && o.subnet6 === undefined) throw new UsageError('--ipv6 needs --subnet6 CIDR (there is no default IPv6 pool)');
  if (o.subnet6 !== undefined && o.ipv6 !== true) throw new UsageError('--subnet6 needs --ipv6');
  if (o.gateway6 !== undefined && o.subnet6 === undefined) throw new UsageError('--gateway6 needs --ipv6 --subnet6 CIDR');
  return {
    name,
    ...(o.subnet !== undefined ? { subnet: o.subnet } : {}),
    ...(o.gateway !== undefined ? { gateway: o.gateway } : {}),
    ...(o.subnet6 !== undefined ? { subnet6: o.subnet6 } : {}),
    ...(o.gateway6 !== undefined ? { gateway6: o.gateway6 } : {}),
    ...(o.internal === true ? { internal: true } : {}),
    ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
    ...(o.dns.length > 0 ? { dns: o.dns } : {}),
    ...(o.ipRange !== undefined ? { ipRange: o.ipRange } : {}),
    ...(o.opt.length > 0 ? { driverOptions: driverOptionsOf(o.opt) } : {}),
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    ...(o.driver !== undefined ? { driver: o.driver } : {}),
    ...(o.attachable === true ? { attachable: true } : {}),
    ...(o.label !== undefined && o.label.length > 0 ? { labels: labelsOf(o.label) } : {}),
  };
}

/** Add the `network` command group. */
export function addNetworkCommands(program: Command, ctx: CliContext): void {
  const network = program.command('network').description('manage networks');

  network
    .command('create <name>')
    .description('create a network (bridge by default; overlay spans the hosts of the cluster store); prints its id')
    .option('-d, --driver <name>', 'bridge (default) or overlay (VXLAN across hosts; needs a daemon with --cluster-store)')
    .option('--attachable', 'overlay: sandboxes may be connected by hand (Docker\'s --attachable)')
    .option('--subnet <cidr>', 'IPv4 subnet (default: a free /24 in 10.213.0.0/16)')
    .option('--gateway <ip>', 'IPv4 gateway (default: the first host address)')
    .option('--ipv6', 'enable IPv6 (needs --subnet6)')
    .option('--subnet6 <cidr>', 'IPv6 subnet')
    .option('--gateway6 <ip>', 'IPv6 gateway')
    .option('--internal', 'no default route, no host-side upstreams')
    .option('--ttl <seconds>', 'TTL of local answers (default 600)', parseCount)
    .option('--dns <ip>', 'DNS server for sandboxes on this network that give none of their own (repeatable)', collect, [])
    .option('--ip-range <cidr>', 'allocate IPv4 addresses from this sub-range of the subnet only')
    .option('-o, --opt <key=value>', 'driver option: mtu, bridge_name (or com.docker.network.driver.mtu, com.docker.network.bridge.name); overlay: mtu, vni; repeatable', collect, [])
    .option('--label <key=value>', 'metadata label, KEY=VALUE or KEY (repeatable; see ls and prune --filter label=...)', collect, [])
    .option('--scope <scope>', 'local (this host) or global (every host of the cluster store; needs a daemon with --cluster-store)')
    .action(async (name: string, opts: CreateOptions, cmd: Command) => {
      objectSegment('network', name); // a name no verb could name again is a usage error here too (exit 2)
      const info = await ctx.client(cmd).call<NetworkInfo & { warnings?: string[] }>('POST', '/networks', networkBody(name, opts));
      for (const w of info.warnings ?? []) ctx.io.stderr(`Warning: ${w}\n`);
      ctx.emit(cmd, info, (n) => `${n.id}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'print only the ids')
    .option('--no-trunc', 'print whole ids')
    .option('-f, --filter <key=value>', 'only matching networks: name=, id= (part of), driver=, scope=, type=custom|builtin, label=KEY[=VALUE], dangling=true|false (repeatable: label given twice must hold both, another key either value)', collect, [])
    .action(async (o: { quiet?: boolean; trunc: boolean; filter: string[] }, cmd: Command) => {
      const list = await ctx.client(cmd).call<NetworkInfo[]>('GET', `/networks${filtersQuery(o.filter)}`);
      if (o.quiet === true) ctx.emit(cmd, list.map((n) => (o.trunc ? n.id.slice(0, 12) : n.id)), (ids) => ids.map((id) => `${id}\n`).join(''));
      else ctx.emit(cmd, list, (l) => networksTable(l, o.trunc));
    });

  network
    .command('inspect <name>')
    .description('show a network and its endpoints')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      ctx.emit(cmd, await ctx.client(cmd).call<NetworkInfo>('GET', `/networks/${objectSegment('network', name)}`), networkDetail);
    });

  addRemoveCommands(network, ctx);
}

/** `network rm` (several at once) and `network prune`. */
function addRemoveCommands(network: Command, ctx: CliContext): void {
  network
    .command('rm <name...>')
    .alias('remove')
    .description('delete networks (each must have no endpoints); goes on past a refusal and exits 1 if any was refused')
    .action(async (names: string[], _opts: unknown, cmd: Command) => removeEach(ctx, cmd, 'network', names));

  network
    .command('prune')
    .description('delete every local network without endpoints (asks first unless --force)')
    .option('-f, --force', 'do not ask')
    .option('--filter <key=value>', 'only networks with label=KEY[=VALUE], without label!=KEY[=VALUE], or made before until=TIME (Unix seconds, RFC 3339, or a duration back from now: 24h, 90m) (repeatable)', collect, [])
    .action(async (o: { force?: boolean; filter: string[] }, cmd: Command) => {
      const query = filtersQuery(o.filter);
      if (o.force !== true) {
        const yes = await ctx.io.confirm?.('WARNING! This will remove all local networks without endpoints.\nAre you sure you want to continue? [y/N] ');
        if (yes !== true) throw new CancelledError('network prune');
      }
      const r = await ctx.client(cmd).call<PruneResult>('POST', `/networks/prune${query}`);
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json === true;
      if (!json) for (const f of r.failed) ctx.io.stderr(`Error: ${f.name}: ${f.message} [${f.code}]\n`);
      if (r.failed.length > 0) ctx.exitCode = EXIT.FAILED;
      ctx.emit(cmd, r, (x) => (x.deleted.length === 0 ? '' : `Deleted Networks:\n${x.deleted.map((n) => `${n}\n`).join('')}`));
    });
}

/** What `POST /networks/prune` answers. */
interface PruneResult {
  deleted: string[];
  failed: { name: string; code: string; message: string }[];
}
