/**
 * `sandns sandbox create|ls|inspect|rm` (L1): a container's namespace and its
 * DNS files.
 */
import type { Command } from 'commander';
import type { SandboxInfo } from '../../controller/index.js';
import { collect, objectSegment, parseExtraHost, type CliContext } from './context.js';
import { sandboxDetail, sandboxesTable } from './views.js';
import { removeEach } from './remove-each.js';

interface CreateOptions {
  netns?: string;
  external?: boolean;
  hostname?: string;
  domainname?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: { name: string; ip: string }[];
  hostsPath?: string;
  resolvConfPath?: string;
}

/** The API body of `sandbox create`, from its options. */
export function sandboxBody(name: string, o: CreateOptions): Record<string, unknown> {
  const pick = (key: string, v: string | undefined): Record<string, string> => (v === undefined ? {} : { [key]: v });
  const list = (key: string, v: readonly unknown[]): Record<string, readonly unknown[]> => (v.length === 0 ? {} : { [key]: v });
  return {
    name,
    ...pick('netnsPath', o.netns), ...(o.external === true ? { external: true } : {}), ...pick('hostname', o.hostname), ...pick('domainname', o.domainname),
    ...list('dns', o.dns), ...list('dnsSearch', o.dnsSearch), ...list('dnsOptions', o.dnsOption), ...list('extraHosts', o.addHost),
    ...pick('hostsPath', o.hostsPath), ...pick('resolvConfPath', o.resolvConfPath),
  };
}

/** Add the `sandbox` command group. */
export function addSandboxCommands(program: Command, ctx: CliContext): void {
  const sandbox = program.command('sandbox').description('manage sandboxes (container network namespaces)');

  sandbox
    .command('create <name>')
    .description('create a sandbox: a new namespace `ip netns exec NAME` enters, or --netns PATH; prints its name')
    .option('--netns <path>', 'adopt an existing namespace (external key) instead of creating one')
    .option('--external', 'no namespace yet: the OCI hook gives it one when the container starts (`sandns oci-hook`)')
    .option('--hostname <h>', 'hostname (default: NAME when it is a valid host label)')
    .option('--domainname <d>', 'domain name')
    .option('--dns <ip>', 'upstream server, queried from inside the namespace (repeatable)', collect, [])
    .option('--dns-search <d>', 'search domain (repeatable)', collect, [])
    .option('--dns-option <o>', 'resolv.conf option, e.g. ndots:2 (repeatable)', collect, [])
    .option('--add-host <name:ip>', 'extra /etc/hosts line (repeatable)', parseExtraHost, [])
    .option('--hosts-path <p>', 'hosts file to manage (default /etc/netns/NAME/hosts)')
    .option('--resolv-conf-path <p>', 'resolv.conf to manage (default /etc/netns/NAME/resolv.conf)')
    .action(async (name: string, opts: CreateOptions, cmd: Command) => {
      objectSegment('sandbox', name); // a name no verb could name again is a usage error here too (exit 2)
      const info = await ctx.client(cmd).call<SandboxInfo>('POST', '/sandboxes', sandboxBody(name, opts));
      ctx.emit(cmd, info, (s) => `${s.id}\n`);
    });

  sandbox
    .command('ls')
    .alias('list')
    .description('list sandboxes')
    .option('-q, --quiet', 'print only the names')
    .action(async (o: { quiet?: boolean }, cmd: Command) => {
      const list = await ctx.client(cmd).call<SandboxInfo[]>('GET', '/sandboxes');
      if (o.quiet === true) ctx.emit(cmd, list.map((s) => s.id), (ids) => ids.map((id) => `${id}\n`).join(''));
      else ctx.emit(cmd, list, sandboxesTable);
    });

  sandbox
    .command('inspect <name>')
    .description('show a sandbox: namespace, files, upstreams, endpoints')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      ctx.emit(cmd, await ctx.client(cmd).call<SandboxInfo>('GET', `/sandboxes/${objectSegment('sandbox', name)}`), sandboxDetail);
    });

  sandbox
    .command('rm <name...>')
    .alias('remove')
    .description('disconnect sandboxes from every network and delete them (and their namespaces, unless --netns was given); goes on past a refusal and exits 1 if any was refused')
    .action(async (names: string[], _opts: unknown, cmd: Command) => removeEach(ctx, cmd, 'sandbox', names));
}
