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
  return killable(child);
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

const BENCH_SERVER = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
// Echoes every byte back: bulk senders read the echo to measure goodput both ways, ping-pong clients their round trips.
net.createServer((c) => c.pipe(c)).listen({ host, port }, () => process.stdout.write('ready\\n'));`;

const BENCH_CLIENT = `
const net = require('node:net');
const [host, port, mode, amount] = [process.argv[1], Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const c = net.connect({ host, port, noDelay: true }, () => {
  const t0 = process.hrtime.bigint();
  const done = (v) => { process.stdout.write(String(v)); process.exit(0); };
  if (mode === 'bulk') {
    const chunk = Buffer.alloc(64 * 1024, 7); let sent = 0; let got = 0;
    const pump = () => { while (sent < amount) { sent += chunk.length; if (!c.write(chunk)) return c.once('drain', pump); } };
    c.on('data', (d) => { got += d.length; if (got >= amount) done((got * 8) / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6); });
    pump();
  } else {
    let n = 0; const one = Buffer.from('x'); const rtts = []; let t = process.hrtime.bigint();
    c.on('data', () => { const now = process.hrtime.bigint(); rtts.push(Number(now - t) / 1e3); if (++n >= amount) { rtts.sort((a, b) => a - b); done(rtts[Math.floor(rtts.length / 2)]); } else { t = now; c.write(one); } });
    c.write(one);
  }
});
c.on('error', (e) => { process.stdout.write('error:' + e.code); process.exit(0); });`;

/** A TCP echo sink for throughput and latency figures inside `netns` on `host:port`. */
export async function startBenchServer(netns: string, host: string, port: number): Promise<EchoServer> {
  const child: ChildProcess = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', BENCH_SERVER, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('bench server did not start')), 10_000);
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(t), resolve()));
    child.once('exit', () => reject(new Error('bench server exited')));
  });
  return killable(child);
}

/** From `netns`: TCP goodput (Mbit/s, `bytes` sent and echoed back) or the median round trip of `bytes` 1-byte exchanges (µs). */
export async function benchTcp(netns: string, host: string, port: number, mode: 'bulk' | 'pingpong', amount: number): Promise<number> {
  const r = await execa('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', BENCH_CLIENT, host, String(port), mode, String(amount)], { reject: false, timeout: 60_000 });
  const v = Number(r.stdout);
  if (!Number.isFinite(v)) throw new Error(`bench to ${host}:${port} failed: ${r.stdout} ${r.stderr}`);
  return v;
}

/** A started child as the tests hold it: its pid, and a stop that kills it (SIGKILL) and resolves once it exited. */
function killable(child: ChildProcess): EchoServer {
  return {
    pid: child.pid!,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGKILL');
    }),
  };
}
