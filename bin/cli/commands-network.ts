/**
 * `sandns network create|ls|inspect|rm` (L1).
 */
import type { Command } from 'commander';
import type { NetworkInfo } from '../../controller/index.js';
import { collect, objectSegment, parseCount, type CliContext } from './context.js';
import { UsageError } from './errors.js';
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
}

/** `-o key=value` pairs as driverOptions (values stay strings; the driver checks them). */
export function driverOptionsOf(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`-o ${p}: write KEY=VALUE, e.g. -o mtu=1400`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  }));
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
    .action(async (_opts: unknown, cmd: Command) => {
      ctx.emit(cmd, await ctx.client(cmd).call<NetworkInfo[]>('GET', '/networks'), networksTable);
    });

  network
    .command('inspect <name>')
    .description('show a network and its endpoints')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      ctx.emit(cmd, await ctx.client(cmd).call<NetworkInfo>('GET', `/networks/${objectSegment('network', name)}`), networkDetail);
    });

  network
    .command('rm <name>')
    .alias('remove')
    .description('delete a network (it must have no endpoints)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      ctx.emit(cmd, await ctx.client(cmd).call<{ name: string }>('DELETE', `/networks/${objectSegment('network', name)}`), (r) => `${r.name}\n`);
    });
}
