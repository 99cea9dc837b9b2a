/**
 * The sandns command line: docker-like verbs over the daemon's API, table
 * output for people and `--json` for scripts. runCli() returns the exit code
 * (see EXIT) and never calls process.exit, so unit tests drive it whole.
 */
import { Command, CommanderError } from 'commander';
import { addNetworkCommands } from './commands-network.js';
import { addSandboxCommands } from './commands-sandbox.js';
import { addDnsCommands, addQueryCommands } from './commands-dns.js';
import { addHookCommands } from './commands-hook.js';
import { addPortCommands } from './commands-ports.js';
import { collect, createContext, type CliContext, type CliIo, type GlobalOptions } from './context.js';
import { DEFAULT_SOCKET } from './client.js';
import { errorText, EXIT, exitCodeOf, UsageError } from './errors.js';
import { SandnsError } from '../../common/errors.js';
import { SANDNS_VERSION } from '../../common/version.js';

interface DaemonFlags {
  stateDir: string;
  runDir: string;
  originResolvConf: string;
  logLevel: string;
  portRange: string;
  firewall: boolean;
  allowedFilesRoot?: string;
  clusterStore?: string;
  clusterAdvertise?: string;
  clusterStoreOpt: string[];
}

function addDaemonCommands(program: Command, ctx: CliContext): void {
  program
    .command('daemon')
    .description('run the controller and its API on a unix socket (root); SIGTERM stops it, namespaces stay')
    .option('--state-dir <dir>', 'state directory, created 0700: networks, sandboxes and endpoints, restored at start', '/var/lib/sandns')
    .option('--run-dir <dir>', "runtime files (each sandbox's resolv.conf digest under sandboxes/NAME): give each daemon of a host its own", '/run/sandns')
    .option('--origin-resolv-conf <path>', 'the host resolv.conf sandboxes derive theirs from', '/etc/resolv.conf')
    .option('--log-level <level>', 'pino level: fatal, error, warn, info, debug, trace, silent', 'info')
    .option('--port-range <first-last>', 'host ports published ports get when none is given', '49153-65535')
    .option('--no-firewall', 'no nftables table, no forwarding: bridges only, no egress NAT, isolation or published ports (Docker: --iptables=false)')
    .option('--allowed-files-root <dir>', 'hostsPath/resolvConfPath given to "sandbox create" must resolve inside this directory')
    .option('--cluster-store <url>', 'etcd://HOST:PORT[,HOST:PORT...][/PREFIX]: global networks shared by every daemon of the cluster')
    .option('--cluster-advertise <ip>', "this host's underlay address (required with --cluster-store)")
    .option('--cluster-store-opt <key=value>', 'lease.ttl=SECONDS (default 10), ca=FILE, cert=FILE, key=FILE (repeatable)', collect, [])
    .action(async (o: DaemonFlags, cmd: Command) => {
      const { normalizeDaemonOptions, runDaemon } = await import('../daemon/daemon.js');
      if (o.clusterStore === undefined && (o.clusterAdvertise !== undefined || o.clusterStoreOpt.length > 0)) throw new UsageError('--cluster-advertise and --cluster-store-opt need --cluster-store');
      const cluster = o.clusterStore === undefined ? undefined : { store: o.clusterStore, advertise: o.clusterAdvertise, opts: o.clusterStoreOpt };
      const raw = {
        socketPath: ctx.socketPath(cmd), stateDir: o.stateDir, runDir: o.runDir, originResolvConf: o.originResolvConf, logLevel: o.logLevel, cluster,
        portRange: o.portRange, firewall: o.firewall,
        ...(o.allowedFilesRoot === undefined ? {} : { allowedFilesRoot: o.allowedFilesRoot }),
      };
      // A malformed flag value (--log-level loud, --port-range 9-1, --cluster-store ftp://x) is a usage error, exit 2.
      try {
        normalizeDaemonOptions(raw);
      } catch (err) {
        throw err instanceof SandnsError && err.status === 400 ? new UsageError(err.message) : err;
      }
      ctx.exitCode = await runDaemon(raw);
    });

  program
    .command('demo')
    .description('create three sandboxes on a bridge network, resolve each other by name, tear down')
    .option('--log-level <level>', 'pino log level', 'error')
    .action(async (o: { logLevel: string }) => {
      const { runDemo } = await import('../demo.js');
      ctx.exitCode = await runDemo({ logLevel: o.logLevel });
    });
}

/** The program, its commands bound to `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('sandns')
    .description('Embedded DNS and service discovery for container network namespaces')
    .version(SANDNS_VERSION, '-v, --version', 'print the version')
    .option('--socket <path>', `daemon API socket (default: $SANDNS_SOCKET, else ${DEFAULT_SOCKET})`)
    .option('--json', 'print JSON for scripts instead of tables')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .showHelpAfterError('(add --help for usage)');
  addNetworkCommands(program, ctx);
  addSandboxCommands(program, ctx);
  addDnsCommands(program, ctx);
  addQueryCommands(program, ctx);
  addPortCommands(program, ctx);
  addDaemonCommands(program, ctx);
  addHookCommands(program, ctx);
  return program;
}

function reportError(err: unknown, json: boolean, io: CliIo): void {
  io.stderr(errorText(err, json));
}

/** Run the CLI on `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = createContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version are not errors; every other parse failure is a usage error
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    reportError(err, (program.opts() as GlobalOptions).json === true, io);
    return exitCodeOf(err);
  }
}
