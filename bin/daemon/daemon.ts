/**
 * `sandns daemon`: the controller plus its HTTP/JSON API on a unix socket
 * (L1, R16). SIGTERM/SIGINT: stop accepting requests (one arriving on an
 * open connection is 503 ERR_CONTROLLER_CLOSED), wait for those in flight (at
 * most 30 s), then stop every listener, flush state, remove the socket; namespaces, bridges and files of live
 * sandboxes stay: a restarted daemon restores them from --state-dir (L3).
 */
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createController, type Controller, type ControllerOptions } from '../../controller/index.js';
import { releaseSandboxKey, setSandboxKey } from '../../controller/index.js';
import { createApi, prepareSocketPath, startApiServer, type ApiSandbox, type ApiServer } from '../../api/index.js';
import { InvalidOptionError, SandnsError } from '../../common/errors.js';
import { checkNft, claimFirewall, type PortRange } from '../../drivers/index.js';
import { createLogger, type Logger } from '../../common/log.js';
import type { ProbeReply } from './dig.js';
import { digInNetns } from './io/dig-probe.js';
import { replayDeferred } from './deferred.js';
import { explainAnswer } from './explain.js';
import { ApiMetrics, renderAllMetrics, singleFlight } from './metrics.js';
import { createClusterStore, normalizeClusterOptions, type ClusterOptions, type ClusterStore, type RawClusterOptions } from '../../store/index.js';

/** Options of `sandns daemon`. */
export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  /** Runtime files (a sandbox's resolv.conf digest); default /run/sandns. */
  runDir?: string;
  originResolvConf: string;
  logLevel: string;
  /** Ephemeral host ports for published ports, `first-last`; default 49153-65535. */
  portRange?: string;
  /** The nftables firewall (egress, isolation, published ports); default true. */
  firewall?: boolean;
  /** `--cluster-store`, `--cluster-advertise`, `--cluster-store-opt` (docs/cluster.md M1); absent: single host. */
  cluster?: RawClusterOptions | undefined;
  /** Caller-given sandbox file paths must resolve inside this directory (L7). */
  allowedFilesRoot?: string;
}

/** The normalised options. */
export interface NormalizedDaemonOptions extends Omit<DaemonOptions, 'cluster' | 'portRange' | 'firewall' | 'runDir'> {
  readonly runDir: string;
  readonly clusterStore: Readonly<ClusterOptions> | undefined;
  readonly portRange: PortRange;
  readonly firewall: boolean;
}

/** Parse `--port-range first-last` (1 ≤ first ≤ last ≤ 65535). */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  if (m === null || first < 1 || last > 65535 || first > last) {
    throw new InvalidOptionError('port-range', `${JSON.stringify(text)} must be FIRST-LAST with 1 <= FIRST <= LAST <= 65535, e.g. 49153-65535`);
  }
  return { first, last };
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Check the options once and make the paths absolute (G9). */
export function normalizeDaemonOptions(raw: DaemonOptions): Readonly<NormalizedDaemonOptions> {
  if (!LEVELS.includes(raw.logLevel)) throw new InvalidOptionError('log-level', `must be one of ${LEVELS.join(', ')}`);
  for (const [field, v] of [['socket', raw.socketPath], ['state-dir', raw.stateDir], ['run-dir', raw.runDir], ['origin-resolv-conf', raw.originResolvConf]] as const) {
    if (v === '') throw new InvalidOptionError(field, 'must be a path');
  }
  return Object.freeze({
    socketPath: resolvePath(raw.socketPath),
    stateDir: resolvePath(raw.stateDir),
    runDir: resolvePath(raw.runDir ?? '/run/sandns'),
    originResolvConf: resolvePath(raw.originResolvConf),
    logLevel: raw.logLevel,
    portRange: parsePortRange(raw.portRange ?? '49153-65535'),
    firewall: raw.firewall ?? true,
    clusterStore: raw.cluster === undefined ? undefined : normalizeClusterOptions(raw.cluster),
    ...(raw.allowedFilesRoot === undefined || raw.allowedFilesRoot === '' ? {} : { allowedFilesRoot: resolvePath(raw.allowedFilesRoot) }),
  });
}

/** Controller options for the daemon: the state lives in `stateDir` (L3). */
function controllerOptions(opts: Readonly<NormalizedDaemonOptions>, logger: Logger, cluster: ClusterStore | undefined): ControllerOptions {
  return {
    logger, originResolvConf: opts.originResolvConf, stateDir: opts.stateDir, runDir: opts.runDir, ...(cluster ? { cluster } : {}),
    firewall: opts.firewall ? { portRange: opts.portRange } : false,
    ...(opts.allowedFilesRoot === undefined ? {} : { allowedFilesRoot: opts.allowedFilesRoot }),
  };
}

/** The controller forwards names it does not know (R10: on by default, with a shared cache). */
const FORWARDING = true;

async function startServer(controller: Controller, opts: Readonly<NormalizedDaemonOptions>, logger: Logger, cluster: ClusterStore | undefined): Promise<ApiServer> {
  const started = Date.now();
  const apiMetrics = new ApiMetrics();
  // One scrape at a time; concurrent GET /metrics share its text (M5).
  const scrape = singleFlight(async () => (await renderAllMetrics(controller, apiMetrics)) + (cluster?.metrics() ?? ''));
  const real = (sb: ApiSandbox) => controller.sandbox(sb.id);
  const api = createApi({
    controller,
    logger,
    probe: (sb, q) => digInNetns(sb.netnsPath, q.name, q.type, q.tcp),
    explain: (sb, q, reply) => explainAnswer(real(sb).view, q.name, q.type, reply as ProbeReply | undefined, FORWARDING),
    metrics: scrape,
    cluster: () => controller.clusterStatus() as Record<string, unknown> | undefined,
    health: () => ({ pid: process.pid, uptimeSeconds: Math.round((Date.now() - started) / 1000), socket: opts.socketPath }),
    keys: {
      set: (sb, netnsPath) => setSandboxKey(real(sb), netnsPath, { changed: () => controller.changed(), logger }),
      release: (sb) => releaseSandboxKey(real(sb), { changed: () => controller.changed(), logger }),
    },
  });
  // DELs the CNI plugin could not deliver while the daemon was down, before anyone else can ask.
  await replayDeferred(opts.socketPath, api, logger);
  return startApiServer({
    socketPath: opts.socketPath,
    logger,
    handle: async (req) => {
      const res = await api(req);
      apiMetrics.observe(req.method, req.path, res.status);
      return res;
    },
  });
}

function waitForSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onHup = (): void => logger.info('SIGHUP ignored: changes are live, there is nothing to reload');
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', onHup);
      // A second signal during shutdown ends the process at once.
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(sig);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHup);
  });
}

async function prepare(opts: Readonly<NormalizedDaemonOptions>, logger: Logger): Promise<void> {
  if (process.getuid?.() !== 0) logger.warn('sandns daemon is not running as root: creating namespaces and links will fail');
  // Without nft every network create would fail later (a 500 quoting the whole ruleset): refuse to start now.
  if (opts.firewall) await checkNft();
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  try {
    await access(opts.originResolvConf, constants.R_OK);
  } catch {
    logger.warn({ originResolvConf: opts.originResolvConf }, 'origin resolv.conf is not readable: sandboxes get no host-side upstreams');
  }
}

/**
 * A start refused: logged (pino, with the error), and said in one plain line on stderr with its code, as the CLI
 * says a refusal (a person starting the daemon by hand reads that, not a JSON log line). Returns the exit code, 1.
 */
function refuseStart(logger: Logger, err: unknown, what: string): number {
  logger.fatal({ err }, what);
  logger.flush();
  const code = err instanceof SandnsError ? err.code : 'ERR_CLI_INTERNAL';
  process.stderr.write(`Error: ${what}: ${err instanceof Error ? err.message : String(err)} [${code}]\n`);
  return 1;
}

/** Run the daemon until SIGTERM/SIGINT; resolves with the exit code. */
export async function runDaemon(raw: DaemonOptions): Promise<number> {
  const opts = normalizeDaemonOptions(raw);
  const logger = createLogger({ level: opts.logLevel });
  try {
    // A daemon already answering on the socket (or a path that is no socket) refuses this one before its state
    // directory is made or restored: a restore would change links and files under the running daemon.
    await prepareSocketPath(opts.socketPath);
  } catch (err) {
    return refuseStart(logger, err, 'cannot listen on the API socket');
  }
  await prepare(opts, logger);
  let releaseFirewall: (() => Promise<void>) | undefined;
  try {
    // One daemon per network namespace owns the firewall: refused before anything is touched (a second one's table
    // rebuild would wipe the first's rules).
    releaseFirewall = opts.firewall ? await claimFirewall() : undefined;
  } catch (err) {
    return refuseStart(logger, err, 'cannot own the firewall of this network namespace');
  }
  // The member file keeps this host's cluster identity and lease across restarts (docs/cluster.md M5).
  const cluster = opts.clusterStore === undefined ? undefined : createClusterStore(opts.clusterStore, { logger, memberFile: `${opts.stateDir}/cluster.json` });
  const controller = createController(controllerOptions(opts, logger, cluster));
  let server: ApiServer;
  try {
    // Restore before the API opens: nothing can change the model half-way (L3);
    // then the cluster store re-publishes what was restored, inside the lease (M5).
    await controller.restore();
    await cluster?.start();
    // Claimed endpoints of global networks in keyed sandboxes join once the store is there (restore left them).
    if (cluster?.available() === true) await controller.joinClaimed();
    server = await startServer(controller, opts, logger, cluster);
  } catch (err) {
    await controller.close();
    await cluster?.close();
    await releaseFirewall?.();
    return refuseStart(logger, err, 'cannot restore the state or start the API');
  }
  logger.info({ socket: opts.socketPath, stateDir: opts.stateDir, origin: opts.originResolvConf, pid: process.pid }, 'sandns daemon ready');
  // The store was not reachable yet (start gives up waiting after 3 s): those joins run once it is (one daemon-wide
  // check a second until then, nothing after).
  const storeWait = cluster === undefined || cluster.available() ? undefined : setInterval(() => {
    if (!cluster.available()) return;
    clearInterval(storeWait);
    void controller.joinClaimed();
  }, 1_000);
  storeWait?.unref();
  const sig = await waitForSignal(logger);
  clearInterval(storeWait);
  logger.info({ signal: sig }, 'shutting down: closing the API and the listeners; namespaces stay');
  await server.close(); // returns once the requests in flight are answered: none runs under the closed controller
  await controller.close(); // flushes the state (L3)
  await cluster?.close(); // the lease is left to expire: a restart inside it takes the records over (M5)
  await releaseFirewall?.();
  logger.info('sandns daemon stopped');
  logger.flush();
  // Anything still holding the event loop (a watcher) must not keep a stopped daemon alive.
  setTimeout(() => process.exit(0), 2_000).unref();
  return 0;
}
