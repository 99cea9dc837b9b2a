/**
 * `npm run bench:cni` (as root): ADD and DEL latency of one container, median
 * of N (default 50), for four ways of giving it a network, in one run and
 * interleaved (ADD/DEL of each in turn), so the machine's noise hits all alike:
 *   bridge+host-local       Debian's stock pair (no DNS)
 *   bridge+host-local+sandns  the pair with sandns chained (DNS only)
 *   sandns                  sandns as the main plugin (bridge, IPAM, veth, DNS)
 *   netavark+aardvark       podman's default (netavark setup/teardown; podman allocates the address)
 * Each config keeps one long-lived container, so bridges, listeners and
 * aardvark-dns exist already (the steady state of a host running containers).
 * Everything runs in a scratch host namespace and is removed at the end.
 *   N=50 npx tsx bench/cni-latency.ts
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli } from '../test/helpers/daemon.js';
import { stateDaemon } from '../test/helpers/state-daemon.js';
import { cniAdd, cniDel, installSandnsPlugin, type CniRuntime, type ConfList } from '../test/helpers/libcni.js';

const N = Number(process.env.N ?? 50);
const tag = `cb${process.pid.toString(36)}`;
const host = `${tag}h`;
const NETAVARK = '/usr/lib/podman/netavark';
const AARDVARK = '/usr/lib/podman/aardvark-dns';

interface Case {
  name: string;
  add(i: number): Promise<void>;
  del(i: number): Promise<void>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function cniCase(name: string, rt: CniRuntime, list: ConfList, netns: string): Case {
  const att = (i: number) => ({ containerId: `${tag}-${list.name}-${i}`, netns, args: `IgnoreUnknown=1;K8S_POD_NAME=c${i}` });
  return { name, add: async (i) => void (await cniAdd(rt, list, att(i))), del: (i) => cniDel(rt, list, att(i)) };
}

function netavarkCase(dir: string, netns: string): Case {
  const opts = (i: number) => ({
    container_id: `${tag}${String(i).padStart(4, '0')}`.padEnd(64, 'a'), container_name: `c${i}`,
    networks: { [`${tag}nv`]: { interface_name: 'eth0', static_ips: [`10.89.244.${10 + (i % 200)}`], aliases: ['www'] } },
    network_info: { [`${tag}nv`]: {
      dns_enabled: true, driver: 'bridge', id: 'b'.repeat(64), internal: false, ipv6_enabled: false, name: `${tag}nv`,
      network_interface: `${tag}nvb`, subnets: [{ gateway: '10.89.244.1', subnet: '10.89.244.0/24' }],
    } },
    port_mappings: [], dns_servers: [],
  });
  const nv = async (cmd: string, i: number, ns: string): Promise<void> => {
    await mkdir(join(dir, 'nv'), { recursive: true });
    const file = join(dir, `nv-${i}.json`);
    await writeFile(file, JSON.stringify(opts(i)));
    const r = await execa('nsenter', [`--net=/run/netns/${host}`, '--', NETAVARK, '--config', join(dir, 'nv'), '--aardvark-binary', AARDVARK, '--file', file, cmd, ns], { reject: false });
    if (r.exitCode !== 0) throw new Error(`netavark ${cmd} exited ${r.exitCode}: ${r.stderr} ${r.stdout}`);
  };
  return { name: 'netavark+aardvark', add: (i) => nv('setup', i, netns), del: (i) => nv('teardown', i, netns) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sandns-cnibench-'));
  const build = await buildCli();
  const nss = ['keep1', 'keep2', 'keep3', 'keep4', 'x1', 'x2', 'x3', 'x4'].map((n) => `${tag}${n}`);
  await execa('ip', ['netns', 'add', host]);
  await execa('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  for (const n of nss) await execa('ip', ['netns', 'add', n]);
  const d = await stateDaemon(build.bin, join(dir, 'daemon'), { netns: `/run/netns/${host}` });
  try {
    await d.start();
    await installSandnsPlugin(join(dir, 'plugins'), join(build.bin, '..', 'sandns-cni.js'));
    const rt: CniRuntime = { pluginDirs: [join(dir, 'plugins'), '/usr/lib/cni'], hostNetns: `/run/netns/${host}`, cacheDir: join(dir, 'cache') };
    const bridge = (br: string, third: number) => ({
      type: 'bridge', bridge: `${tag}${br}`, isGateway: true, ipMasq: false, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.89.${third}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
    });
    const lists: ConfList[] = [
      { cniVersion: '1.0.0', name: `${tag}bh`, plugins: [bridge('b1', 241)] },
      { cniVersion: '1.0.0', name: `${tag}ch`, plugins: [bridge('b2', 242), { type: 'sandns', socket: d.socket, capabilities: { aliases: true } }] },
      { cniVersion: '1.0.0', name: `${tag}mn`, plugins: [{ type: 'sandns', socket: d.socket, subnet: '10.89.243.0/24' }] },
    ];
    const cases: Case[] = [
      cniCase('bridge+host-local', rt, lists[0]!, `/run/netns/${nss[4]}`),
      cniCase('bridge+host-local+sandns (chained)', rt, lists[1]!, `/run/netns/${nss[5]}`),
      cniCase('sandns (main plugin)', rt, lists[2]!, `/run/netns/${nss[6]}`),
      netavarkCase(dir, `/run/netns/${nss[7]}`),
    ];
    // One long-lived container per config: the steady state.
    for (const k of cases.keys()) {
      if (k < 3) await cniAdd(rt, lists[k]!, { containerId: `${tag}-keep-${k}`, netns: `/run/netns/${nss[k]}`, args: 'IgnoreUnknown=1;K8S_POD_NAME=keep' });
      else await netavarkCase(dir, `/run/netns/${nss[3]}`).add(9999);
    }
    const times = new Map(cases.map((c) => [c.name, { add: [] as number[], del: [] as number[] }]));
    // What a plugin process costs before any work: sandns-cni answering VERSION (node start + module load).
    const version: number[] = [];
    const cniJs = join(build.bin, '..', 'sandns-cni.js');
    for (let i = 0; i < N; i++) {
      for (const c of cases) {
        times.get(c.name)!.add.push(await timed(() => c.add(i)));
        times.get(c.name)!.del.push(await timed(() => c.del(i)));
      }
      version.push(await timed(async () => void (await execa(process.execPath, [cniJs], { env: { CNI_COMMAND: 'VERSION' } }))));
    }
    const base = times.get('bridge+host-local')!;
    const nv = times.get('netavark+aardvark')!;
    const rows = cases.map((c) => {
      const t = times.get(c.name)!;
      const [a, dl] = [median(t.add), median(t.del)];
      return `| ${c.name} | ${a.toFixed(0)} | ${dl.toFixed(0)} | ${(a / median(base.add)).toFixed(2)} / ${(dl / median(base.del)).toFixed(2)} | ${(a / median(nv.add)).toFixed(2)} / ${(dl / median(nv.del)).toFixed(2)} |`;
    });
    process.stdout.write([
      `CNI ADD/DEL latency, median of ${N} (ms), ${new Date().toISOString()}, ${(await execa('nproc')).stdout} cores, node ${process.version}`,
      `sandns-cni process start (VERSION, no daemon call): median ${median(version).toFixed(0)} ms`,
      '', '| config | ADD ms | DEL ms | ÷ bridge+host-local (ADD / DEL) | ÷ netavark+aardvark (ADD / DEL) |', '|---|---|---|---|---|', ...rows, '',
    ].join('\n'));
    await cniDel(rt, lists[0]!, { containerId: `${tag}-keep-0`, netns: `/run/netns/${nss[0]}` });
    await cniDel(rt, lists[1]!, { containerId: `${tag}-keep-1`, netns: `/run/netns/${nss[1]}` });
    await cniDel(rt, lists[2]!, { containerId: `${tag}-keep-2`, netns: `/run/netns/${nss[2]}` });
    await netavarkCase(dir, `/run/netns/${nss[3]}`).del(9999); // the last teardown stops aardvark-dns
  } finally {
    for (const n of (await d.api<{ name: string }[]>('GET', '/networks').catch(() => []))) await d.http('DELETE', `/networks/${n.name}`);
    await d.kill('SIGTERM');
    for (const n of nss) await execa('ip', ['netns', 'del', n], { reject: false });
    await execa('ip', ['netns', 'del', host], { reject: false });
    await rm(dir, { recursive: true, force: true });
    await build.remove();
  }
}

await main();
