/**
 * Real packets between namespaces: an echo server that answers each TCP
 * connection and UDP datagram with the address it saw the client come from,
 * and one-shot clients that report that answer (or why there was none).
 * Each runs as `nsenter --net=PATH node -e …`, so it sits in the namespace
 * under test; servers are stopped by their PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';

const SERVER = `
const net = require('node:net'); const dgram = require('node:dgram');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const fam = host.includes(':') ? 'udp6' : 'udp4';
net.createServer((c) => c.end(c.remoteAddress.replace(/^::ffff:/, '') + '\\n')).listen({ host, port }, () => {
  const u = dgram.createSocket(fam);
  u.on('message', (_m, r) => u.send(r.address + '\\n', r.port, r.address));
  u.bind(port, host, () => process.stdout.write('ready\\n'));
});`;

const CLIENT = `
const net = require('node:net'); const dgram = require('node:dgram');
const [proto, host, port, ms] = [process.argv[1], process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const done = (s) => { process.stdout.write(s); process.exit(0); };
setTimeout(() => done('timeout'), ms);
if (proto === 'tcp') {
  const c = net.connect({ host, port }); let got = '';
  c.on('data', (d) => (got += d)); c.on('end', () => done(got.trim())); c.on('error', (e) => done('error:' + e.code));
} else {
  const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  u.on('message', (m) => done(m.toString().trim())); u.on('error', (e) => done('error:' + e.code));
  u.send('hi', port, host);
}`;

/** A running echo server. */
export interface EchoServer {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Start an echo server on `host:port` (TCP and UDP) inside the namespace at `netns`. */
export async function startEcho(netns: string, host: string, port: number): Promise<EchoServer> {
  const child: ChildProcess = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', SERVER, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`echo server on ${host}:${port} did not start: ${err}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`echo server on ${host}:${port} exited: ${err}`)));
  });
  return {
    pid: child.pid!,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGKILL');
    }),
  };
}

/** Ask `host:port` once from inside `netns`: the address the server saw, `timeout`, or `error:<code>`. */
export async function probe(netns: string, proto: 'tcp' | 'udp', host: string, port: number, timeoutMs = 1500): Promise<string> {
  const r = await execa('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', CLIENT, proto, host, String(port), String(timeoutMs)], { reject: false, timeout: timeoutMs + 10_000 });
  return r.stdout.trim() || `error:${r.stderr.trim().split('\n').pop() ?? 'no output'}`;
}

/** The machine's own ruleset and IPv4 forwarding switch (must be the same after the suite). */
export async function hostSwitches(): Promise<{ ruleset: string; ipForward: string }> {
  const ruleset = (await execa('nft', ['list', 'ruleset'], { reject: false })).stdout;
  const ipForward = (await execa('cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
  return { ruleset, ipForward };
}

/** Run a command inside a namespace; throws on failure. */
export async function inNs(netns: string, argv: readonly string[]): Promise<string> {
  const r = await execa('nsenter', [`--net=${netns}`, '--', ...argv], { reject: false, timeout: 20_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} in ${netns}: ${r.stderr}`);
  return r.stdout;
}
