/**
 * A sandns daemon fixture for the CLI scenarios (300, 310): builds the
 * project once into node_modules/.cache (tsc without type checking: plain
 * `node` starts the CLI in ~0.1 s where tsx takes ~0.35 s), starts
 * `sandns daemon` on a socket of the test's own with an origin resolv.conf of
 * the test's own (no server: never the machine's resolver), runs CLI calls,
 * and tears down every sandbox, network and process it made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Result of one CLI run. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running daemon and its CLI. */
export interface TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  readonly logPath: string;
  /** Run `sandns --socket <socket> ...args`. */
  cli(args: readonly string[]): Promise<CliResult>;
  /** Run the CLI and parse its --json stdout; throws when the exit code is not 0. */
  json<T>(args: readonly string[]): Promise<T>;
  /** Raw HTTP request on the socket. */
  http(method: string, path: string, body?: string): Promise<{ status: number; text: string; type: string }>;
  /** True while the daemon process runs. */
  alive(): boolean;
  /** SIGTERM and wait; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
  /** Delete every sandbox and network through the CLI, stop the daemon, remove the build and temp dir. */
  cleanup(): Promise<void>;
}

/** Build the CLI into a private directory; returns the path of bin/sandns.js. */
export async function buildCli(): Promise<{ bin: string; remove(): Promise<void> }> {
  const out = join(ROOT, 'node_modules', '.cache', `sandns-it-${process.pid}-${randomBytes(3).toString('hex')}`);
  await execa(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--noCheck', '--outDir', out], { cwd: ROOT, reject: false });
  const bin = join(out, 'bin', 'sandns.js');
  if (!existsSync(bin)) throw new Error(`build failed: ${bin} missing`);
  return { bin, remove: () => rm(out, { recursive: true, force: true }) };
}

function waitExit(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
  });
}

function httpOn(socket: string, method: string, path: string, body?: string): Promise<{ status: number; text: string; type: string }> {
  return new Promise((res, rej) => {
    const req = request({ socketPath: socket, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (r) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, text, type: String(r.headers['content-type'] ?? '') }));
    });
    req.on('error', rej);
    req.end(body);
  });
}

/** Where and how a test daemon runs. */
export interface DaemonPlacement {
  /** Run inside this network namespace (`nsenter --net=PATH`): a scratch "host" of the test's own. */
  readonly netns?: string;
  /** Daemon flags added after the defaults; without `firewall: true`, `--no-firewall` is added. */
  readonly args?: readonly string[];
  /** Keep the firewall on (only with `netns`: never on the machine's own namespace). */
  readonly firewall?: boolean;
  /** Reuse this directory (state, socket): a restart of an earlier daemon. */
  readonly dir?: string;
}

/** Start a daemon with `bin`; `origin` is the content of its origin resolv.conf. */
export async function startDaemon(bin: string, origin = '# sandns test origin: no servers\n', place: DaemonPlacement = {}): Promise<TestDaemon> {
  if (place.firewall === true && place.netns === undefined) throw new Error('a firewall test daemon must run in a scratch namespace');
  const dir = place.dir ?? (await mkdtemp(join(tmpdir(), 'sandns-daemon-')));
  const socket = join(dir, 'api', 'sandns.sock');
  const logPath = join(dir, 'daemon.log');
  await writeFile(join(dir, 'resolv.conf'), origin);
  const log = openSync(logPath, 'a');
  const args = [
    bin, '--socket', socket, 'daemon', '--state-dir', join(dir, 'state'), '--origin-resolv-conf', join(dir, 'resolv.conf'), '--log-level', 'info',
    ...(place.firewall === true ? [] : ['--no-firewall']), ...(place.args ?? []),
  ];
  // nsenter execs node: the child's pid is the daemon's (kill -9 reaches it).
  const child = place.netns === undefined
    ? spawn(process.execPath, args, { stdio: ['ignore', log, log] })
    : spawn('nsenter', [`--net=${place.netns}`, '--', process.execPath, ...args], { stdio: ['ignore', log, log] });
  closeSync(log);
  const cli = async (a: readonly string[]): Promise<CliResult> => {
    const r = await execa(process.execPath, [bin, '--socket', socket, ...a], { reject: false, timeout: 60_000 });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const d: TestDaemon = {
    dir, socket, logPath, pid: child.pid!,
    cli,
    async json<T>(a: readonly string[]) {
      const r = await cli(['--json', ...a]);
      if (r.exitCode !== 0) throw new Error(`sandns ${a.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    http: (method, path, body) => httpOn(socket, method, path, body),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (!d.alive()) return child.exitCode;
      child.kill('SIGTERM');
      return waitExit(child, 15_000);
    },
    async cleanup() {
      if (d.alive()) {
        const sbs = await d.json<{ id: string }[]>(['sandbox', 'ls']).catch(() => []);
        for (const s of sbs) await cli(['sandbox', 'rm', s.id]);
        const nets = await d.json<{ name: string }[]>(['network', 'ls']).catch(() => []);
        for (const n of nets) await cli(['network', 'rm', n.name]);
      }
      await d.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 100; i++) {
    if (!d.alive()) throw new Error(`daemon exited early: ${await readFile(logPath, 'utf8')}`);
    const up = await httpOn(socket, 'GET', '/healthz').then((r) => r.status === 200, () => false);
    if (up) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  await d.stop();
  throw new Error(`daemon did not come up: ${await readFile(logPath, 'utf8')}`);
}

/** A random /24 in 10.200.0.0–10.249.255.0 (unlikely to meet another test's network). */
export function randomSubnet(): { subnet: string; prefix: string } {
  const b = randomBytes(2);
  const prefix = `10.${200 + (b[0]! % 50)}.${b[1]}`;
  return { subnet: `${prefix}.0/24`, prefix };
}
