/**
 * `npm run bench:ports` (issue 12, as root): the cost of published ports with
 * 10 / 100 / 1,000 ports published, sandns (nftables maps) vs Docker 20.10
 * (iptables, one rule per port), in the same run:
 *  - connect-with-publish latency: sandns `connect` with one published port,
 *    minus `connect` without; Docker: create+start of a container with one
 *    published port, minus without (Docker programs ports when a container
 *    starts). Medians of SAMPLES runs, over their APIs (no CLI start-up).
 *  - per-packet DNAT cost: TCP connects per second from an "outside"
 *    namespace through the last published port, 4 loops, RATE_S seconds.
 * Each side runs in scratch namespaces of its own (host + outside, uplink
 * veth); nothing touches the machine's namespace. dockerd starts its own
 * containerd under a private exec-root; both are stopped by PID.
 * Knobs: NS="10 100 1000" SAMPLES=9 RATE_S=3 SKIP_DOCKER=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile, copyFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { execa } from 'execa';

const ROOT = new URL('..', import.meta.url).pathname;
const NS = (process.env.NS ?? '10 100 1000').split(/\s+/).map(Number);
const SAMPLES = Number(process.env.SAMPLES ?? 9);
const RATE_S = Number(process.env.RATE_S ?? 3);
const BASE = 20000;

const RATE = `
const net = require('node:net'); const [host, port, secs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let n = 0, fail = 0; const end = Date.now() + secs * 1000;
const loop = () => { if (Date.now() > end) return; const c = net.connect({ host, port });
  c.on('connect', () => { n++; c.destroy(); loop(); }); c.on('error', () => { fail++; c.destroy(); setTimeout(loop, 10); }); };
for (let i = 0; i < 4; i++) loop();
setTimeout(() => { process.stdout.write(JSON.stringify({ rate: n / secs, fail })); process.exit(0); }, secs * 1000 + 200);`;

const SERVER = `require('node:net').createServer((c) => c.destroy()).listen(80, () => process.stdout.write('ready'));`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function http(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : (() => { try { return JSON.parse(text); } catch { return text; } })() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function must(socket: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await http(socket, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** A scratch host namespace with an uplink to a scratch outside namespace. */
async function topology(tag: string, net: string): Promise<{ h: string; o: string; hostAddr: string; down(): Promise<void> }> {
  const h = `pb${tag}h`;
  const o = `pb${tag}o`;
  for (const ns of [h, o]) {
    await execa('ip', ['netns', 'del', ns], { reject: false });
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await execa('ip', ['-n', h, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'out0', 'netns', o]);
  await execa('ip', ['-n', h, 'addr', 'add', `${net}.1/24`, 'dev', 'up0']);
  await execa('ip', ['-n', o, 'addr', 'add', `${net}.2/24`, 'dev', 'out0']);
  await execa('ip', ['-n', h, 'link', 'set', 'up0', 'up']);
  await execa('ip', ['-n', o, 'link', 'set', 'out0', 'up']);
  await execa('ip', ['-n', h, 'route', 'add', 'default', 'via', `${net}.2`]);
  return {
    h: `/run/netns/${h}`, o: `/run/netns/${o}`, hostAddr: `${net}.1`,
    down: async () => { for (const ns of [h, o]) await execa('ip', ['netns', 'del', ns], { reject: false }); },
  };
}

async function rate(outside: string, host: string, port: number): Promise<number> {
  const r = await execa('nsenter', [`--net=${outside}`, '--', process.execPath, '-e', RATE, host, String(port), String(RATE_S)], { timeout: (RATE_S + 20) * 1000 });
  return (JSON.parse(r.stdout) as { rate: number }).rate;
}

function startIn(netns: string, argv: string[]): ChildProcess {
  return spawn('nsenter', [`--net=${netns}`, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function waitReady(child: ChildProcess): Promise<void> {
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res());
    child.once('exit', (c) => rej(new Error(`exited ${c}`)));
  });
}

interface Row { n: number; connect: number; connectPublish: number; rate: number }

async function benchSandns(): Promise<Row[]> {
  const topo = await topology('s', '10.96.1');
  const dir = await mkdtemp(join(tmpdir(), 'sandns-bench-ports-'));
  const socket = join(dir, 'sandns.sock');
  await writeFile(join(dir, 'resolv.conf'), '# bench: no servers\n');
  const daemon = spawn('nsenter', [`--net=${topo.h}`, '--', process.execPath, join(ROOT, 'dist/bin/sandns.js'), '--socket', socket, 'daemon',
    '--state-dir', join(dir, 'state'), '--origin-resolv-conf', join(dir, 'resolv.conf'), '--log-level', 'warn', '--port-range', '40000-49999'], { stdio: 'ignore' });
  const servers: ChildProcess[] = [];
  const rows: Row[] = [];
  try {
    for (let i = 0; i < 100 && (await http(socket, 'GET', '/healthz').catch(() => ({ status: 0 }))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    await must(socket, 'POST', '/networks', { name: 'pbnet', subnet: '10.95.0.0/16' });
    await must(socket, 'POST', '/sandboxes', { name: 'pbbulk' });
    for (let i = 0; i < SAMPLES; i++) await must(socket, 'POST', '/sandboxes', { name: `pbp${i}` });
    let connected = false;
    for (const n of NS) {
      if (connected) await must(socket, 'POST', '/networks/pbnet/disconnect', { sandbox: 'pbbulk' });
      const publish = Array.from({ length: n }, (_, i) => ({ hostPort: BASE + i, containerPort: 80, protocol: 'tcp' }));
      await must(socket, 'POST', '/networks/pbnet/connect', { sandbox: 'pbbulk', publish });
      connected = true;
      if (servers.length === 0) {
        const s = startIn('/run/netns/pbbulk', [process.execPath, '-e', SERVER]);
        servers.push(s);
        await waitReady(s);
      }
      const plain: number[] = [];
      const withPort: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        plain.push(await timed(() => must(socket, 'POST', '/networks/pbnet/connect', { sandbox: `pbp${i}` })));
        await must(socket, 'POST', '/networks/pbnet/disconnect', { sandbox: `pbp${i}` });
        withPort.push(await timed(() => must(socket, 'POST', '/networks/pbnet/connect', { sandbox: `pbp${i}`, publish: [{ containerPort: 80, protocol: 'tcp' }] })));
        await must(socket, 'POST', '/networks/pbnet/disconnect', { sandbox: `pbp${i}` });
      }
      rows.push({ n, connect: median(plain), connectPublish: median(withPort), rate: await rate(topo.o, topo.hostAddr, BASE + n - 1) });
      process.stderr.write(`sandns ${n}: ${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    for (const sb of ['pbbulk', ...Array.from({ length: SAMPLES }, (_, i) => `pbp${i}`)]) await http(socket, 'DELETE', `/sandboxes/${sb}`).catch(() => undefined);
    await http(socket, 'DELETE', '/networks/pbnet').catch(() => undefined);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    await topo.down();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

async function benchDocker(): Promise<Row[]> {
  const topo = await topology('d', '10.96.2');
  const dir = await mkdtemp(join(tmpdir(), 'sandns-bench-docker-'));
  const sock = join(dir, 'docker.sock');
  // containerd of our own, every path private (its opt plugin would write /opt/containerd otherwise).
  await writeFile(join(dir, 'containerd.toml'), [
    'version = 2', `root = "${dir}/ctrd/root"`, `state = "${dir}/ctrd/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = "${dir}/ctrd.sock"`, '[ttrpc]', `  address = "${dir}/ctrd.sock.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]', `  path = "${dir}/ctrd/opt"`, '',
  ].join('\n'));
  const containerd = spawn('nsenter', [`--net=${topo.h}`, '--', '/usr/bin/containerd', '--config', join(dir, 'containerd.toml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await readFile(join(dir, 'ctrd.sock')).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')) await new Promise((r) => setTimeout(r, 100));
    else break;
  }
  const dockerd = spawn('nsenter', [`--net=${topo.h}`, '--', '/usr/sbin/dockerd', '--containerd', join(dir, 'ctrd.sock'), '--storage-driver=vfs', '--userland-proxy=false',
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '-H', `unix://${sock}`, '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  dockerd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const rows: Row[] = [];
  const api = (m: string, p: string, b?: unknown): Promise<unknown> => must(sock, m, `/v1.41${p}`, b);
  let server: ChildProcess | undefined;
  try {
    for (let i = 0; i < 120 && (await http(sock, 'GET', '/_ping').catch(() => ({ status: 0 }))).status !== 200; i++) await new Promise((r) => setTimeout(r, 500));
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
    for (const a of ['sh', 'sleep']) await symlink('busybox', join(rootfs, 'bin', a));
    await execa('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    await execa('/usr/bin/docker', ['-H', `unix://${sock}`, 'import', join(dir, 'rootfs.tar'), 'pb/bb:1']);
    await api('POST', '/networks/create', { Name: 'pbdnet', IPAM: { Config: [{ Subnet: '10.94.0.0/16' }] } });
    const run = async (name: string, ports: number[] | 'one' | 'none', cmd: string[]): Promise<void> => {
      const bindings = ports === 'none' ? {} : { '80/tcp': ports === 'one' ? [{ HostPort: '' }] : ports.map((p) => ({ HostPort: String(p) })) };
      await api('POST', `/containers/create?name=${name}`, {
        Image: 'pb/bb:1', Cmd: cmd, ExposedPorts: { '80/tcp': {} }, HostConfig: { NetworkMode: 'pbdnet', PortBindings: bindings },
      });
      await api('POST', `/containers/${name}/start`);
    };
    const remove = (name: string): Promise<unknown> => http(sock, 'DELETE', `/v1.41/containers/${name}?force=1`);
    for (const n of NS) {
      await remove('pbbulk');
      const t = await timed(() => run('pbbulk', Array.from({ length: n }, (_, i) => BASE + i), ['sleep', '3600']));
      process.stderr.write(`docker: bulk container with ${n} ports started in ${Math.round(t)} ms\n`);
      // The same server as on the sandns side, in the container's namespace (busybox httpd forks per connection).
      const pid = ((await api('GET', '/containers/pbbulk/json')) as { State: { Pid: number } }).State.Pid;
      server?.kill('SIGKILL');
      server = startIn(`/proc/${pid}/ns/net`, [process.execPath, '-e', SERVER]);
      await waitReady(server);
      const plain: number[] = [];
      const withPort: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        plain.push(await timed(() => run(`pbp${i}`, 'none', ['sleep', '600'])));
        await remove(`pbp${i}`);
        withPort.push(await timed(() => run(`pbp${i}`, 'one', ['sleep', '600'])));
        await remove(`pbp${i}`);
      }
      rows.push({ n, connect: median(plain), connectPublish: median(withPort), rate: await rate(topo.o, topo.hostAddr, BASE + n - 1) });
      process.stderr.write(`docker ${n}: ${JSON.stringify(rows.at(-1))}\n`);
    }
    server?.kill('SIGKILL');
    await remove('pbbulk');
  } catch (err) {
    process.stderr.write(`docker side failed: ${String(err)}\n${log.slice(-2000)}\n`);
  } finally {
    server?.kill('SIGKILL');
    const pid = Number((await readFile(join(dir, 'dockerd.pid'), 'utf8').catch(() => '0')).trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
    await new Promise((r) => { const t = setTimeout(r, 20_000); dockerd.once('exit', () => { clearTimeout(t); r(undefined); }); });
    containerd.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(r, 10_000); containerd.once('exit', () => { clearTimeout(t); r(undefined); }); });
    await execa('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`], { reject: false });
    await topo.down();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

const f = (x: number): string => x.toFixed(1);
const sandns = await benchSandns();
const docker = process.env.SKIP_DOCKER === '1' ? [] : await benchDocker();
const lines = [
  `# bench:ports (${new Date().toISOString()}, SAMPLES=${SAMPLES}, RATE_S=${RATE_S})`, '',
  '| published ports | sandns connect ms | sandns connect -p ms | sandns publish cost ms | Docker start ms | Docker start -p ms | Docker publish cost ms | sandns TCP conn/s | Docker TCP conn/s | rate sandns ÷ Docker |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...sandns.map((s) => {
    const d = docker.find((x) => x.n === s.n);
    return `| ${s.n} | ${f(s.connect)} | ${f(s.connectPublish)} | ${f(s.connectPublish - s.connect)} | ${d ? f(d.connect) : '—'} | ${d ? f(d.connectPublish) : '—'} | ${d ? f(d.connectPublish - d.connect) : '—'} | ${Math.round(s.rate)} | ${d ? Math.round(d.rate) : '—'} | ${d ? (s.rate / d.rate).toFixed(2) : '—'} |`;
  }),
];
const out = lines.join('\n') + '\n';
process.stdout.write(out);
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results/ports.md'), out);
