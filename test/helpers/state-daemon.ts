/**
 * A sandns daemon that can be killed and started again on the same state
 * directory and socket (L3 scenarios 500, 510, 600). Its origin resolv.conf
 * is the test's own (no server: never the machine's resolver). Every start
 * logs to its own file; `logLines` reads them back as JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';

/** One HTTP answer of the API. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** A daemon bound to a directory: `dir/state`, `dir/api/sandns.sock`, `dir/resolv.conf`. */
export interface StateDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly stateDir: string;
  /** Start (again); resolves once /healthz answers, with the time that took and the log file. */
  start(): Promise<{ ms: number; logPath: string }>;
  /** SIGKILL (no flush, no cleanup) or SIGTERM, and wait for the exit. */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  alive(): boolean;
  /** The running daemon's pid (SIGSTOP/SIGCONT from a test). */
  pid(): number | undefined;
  /** JSON over the socket; throws unless 2xx when `expectOk`. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** `headers` are extra request headers (x-sandns-crash-at). */
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** `node <bin> --socket <socket> ...args`. */
  cli(args: readonly string[], input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The JSON lines of the n-th start's log (0-based; default the last). */
  logLines(n?: number): Promise<Record<string, unknown>[]>;
}

function httpOn(socket: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = request({ socketPath: socket, method, path, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' } }, (r) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', rej);
    req.end(payload);
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Where and how the daemon runs: inside a host namespace (nsenter --net; `netns` and `netnsPath` are synonyms) and extra daemon flags. */
export interface StateDaemonOptions {
  readonly netns?: string;
  readonly netnsPath?: string;
  readonly args?: readonly string[];
  /** Extra environment of the daemon (SANDNS_CRASH_POINTS=1). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A daemon for `bin` in `dir` (not started yet); with a namespace, it runs inside it (a scratch "host"). */
export async function stateDaemon(bin: string, dir: string, options: StateDaemonOptions = {}): Promise<StateDaemon> {
  const netns = options.netnsPath ?? options.netns;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'resolv.conf'), '# sandns test origin: no servers\n');
  const socket = join(dir, 'api', 'sandns.sock');
  const stateDir = join(dir, 'state');
  const logs: string[] = [];
  let child: ChildProcess | undefined;
  const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const d: StateDaemon = {
    dir, socket, stateDir, alive,
    pid: () => (alive() ? child!.pid : undefined),
    async start() {
      const logPath = join(dir, `daemon-${logs.length}.log`);
      logs.push(logPath);
      const log = openSync(logPath, 'a');
      const t0 = performance.now();
      // In the machine's own namespace the daemon runs without its firewall: the host's nft ruleset and sysctls stay untouched.
      const argv = [bin, '--socket', socket, 'daemon', '--state-dir', stateDir, '--origin-resolv-conf', join(dir, 'resolv.conf'), '--log-level', 'info', ...(netns === undefined ? ['--no-firewall'] : []), ...(options.args ?? [])];
      // nsenter execs node in place (no fork without --pid): the child's PID is the daemon's, so kill() still ends exactly it.
      const env = { ...process.env, ...options.env };
      child = netns === undefined
        ? spawn(process.execPath, argv, { stdio: ['ignore', log, log], env })
        : spawn('nsenter', [`--net=${netns}`, '--', process.execPath, ...argv], { stdio: ['ignore', log, log], env });
      closeSync(log);
      for (let i = 0; i < 600; i++) {
        if (!alive()) throw new Error(`daemon exited early: ${await readFile(logPath, 'utf8')}`);
        if (await httpOn(socket, 'GET', '/healthz').then((r) => r.status === 200, () => false)) return { ms: Math.round(performance.now() - t0), logPath };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`daemon did not come up: ${await readFile(logPath, 'utf8')}`);
    },
    async kill(signal) {
      if (!alive()) return;
      child!.kill(signal);
      await waitExit(child!);
    },
    http: (method, path, body, headers) => httpOn(socket, method, path, body, headers),
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await httpOn(socket, method, path, body);
      if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as T;
    },
    async cli(args, input) {
      const r = await execa(process.execPath, [bin, '--socket', socket, ...args], { reject: false, timeout: 60_000, ...(input === undefined ? {} : { input }) });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async logLines(n) {
      const text = await readFile(logs[n ?? logs.length - 1]!, 'utf8');
      return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
  return d;
}

/** Run `fn` over `items`, `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
