/**
 * A simulated multi-host cluster (the tests of docs/cluster.md): an underlay bridge in its
 * own namespace, "hosts" as namespaces hanging off it by veth pairs, and a
 * 3-member etcd cluster on underlay addresses in namespaces of their own.
 * Nothing touches the machine's own namespace: every address, route and port
 * lives in the lab's namespaces, so fixed ports (2379/2380) never collide with
 * another test. Every process is stopped by PID, every namespace and data
 * directory removed by destroy().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';

/** One simulated host: a namespace on the underlay. */
export interface LabHost {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly ip: string;
}

/** One etcd member. */
export interface EtcdMember {
  readonly name: string;
  readonly host: LabHost;
  readonly dataDir: string;
  process: ChildProcess | undefined;
}

const ip = (...argv: string[]) => execa('ip', argv);
/** tmpfs for etcd data when there is one. */
const SHM = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** The lab. */
export class ClusterLab {
  readonly tag: string;
  readonly prefix: string;
  readonly dir: string;
  /** etcd data: on tmpfs, so member fsyncs never queue behind the disk writes of the daemons (or of other tests). */
  readonly dataDir: string;
  readonly hosts: LabHost[] = [];
  readonly members: EtcdMember[] = [];
  readonly #underlay: string;
  #next = 10;

  private constructor(tag: string, dir: string, dataDir: string) {
    this.tag = tag;
    this.dir = dir;
    this.dataDir = dataDir;
    const b = randomBytes(1);
    this.prefix = `172.30.${b[0]!}`;
    this.#underlay = `${tag}-u`;
  }

  /** Make the underlay namespace and its bridge. */
  static async create(tag = `k${randomBytes(3).toString('hex')}`): Promise<ClusterLab> {
    const lab = new ClusterLab(tag, await mkdtemp(join(tmpdir(), `sandns-${tag}-`)), await mkdtemp(join(SHM, `sandns-${tag}-`)));
    await ip('netns', 'add', lab.#underlay);
    const inU = ['-n', lab.#underlay];
    await ip(...inU, 'link', 'set', 'lo', 'up');
    await ip(...inU, 'link', 'add', 'ul0', 'type', 'bridge');
    await ip(...inU, 'link', 'set', 'ul0', 'up');
    return lab;
  }

  /** The etcd client URL list: etcd://a:2379,b:2379,c:2379. */
  get storeUrl(): string {
    return `etcd://${this.members.map((m) => `${m.host.ip}:2379`).join(',')}`;
  }

  /** Add a host namespace on the underlay (link mtu 1500). */
  async addHost(name: string): Promise<LabHost> {
    const n = this.#next++;
    const netns = `${this.tag}-${name}`;
    const host: LabHost = { name, netns, netnsPath: `/run/netns/${netns}`, ip: `${this.prefix}.${n}` };
    await ip('netns', 'add', netns);
    const outer = `${this.tag}u${n}`.slice(0, 15);
    await ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', outer, 'netns', this.#underlay);
    await ip('-n', this.#underlay, 'link', 'set', outer, 'master', 'ul0', 'up');
    await ip('-n', netns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'eth0', 'up');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    this.hosts.push(host);
    return host;
  }

  /** Cut a host off the underlay (its link down) or bring it back: a partition. */
  async setLink(host: LabHost, up: boolean): Promise<void> {
    await ip('-n', host.netns, 'link', 'set', 'eth0', up ? 'up' : 'down');
  }

  /** Start a 3-member etcd cluster (each member in its own host namespace); resolves once healthy. */
  async startEtcd(count = 3): Promise<void> {
    for (let i = 1; i <= count; i++) {
      const host = await this.addHost(`e${i}`);
      this.members.push({ name: `e${i}`, host, dataDir: join(this.dataDir, `etcd-${i}`), process: undefined });
    }
    await Promise.all(this.members.map((m) => this.startMember(m, 'new')));
    await this.waitHealthy(15_000);
  }

  /** Start (or restart, with its data dir) one member. */
  async startMember(m: EtcdMember, state: 'new' | 'existing' = 'existing'): Promise<void> {
    const cluster = this.members.map((x) => `${x.name}=http://${x.host.ip}:2380`).join(',');
    const log = openSync(join(this.dir, `${m.name}.log`), 'a');
    // Niced up: etcd stands for dedicated nodes; on this shared 2-core machine the daemons' connect storms must not starve it.
    m.process = spawn('nice', ['-n', '-10', 'nsenter', `--net=${m.host.netnsPath}`, '--', 'etcd', '--logger', 'zap', '--log-level', 'warn', '--name', m.name,
      '--data-dir', m.dataDir, '--listen-client-urls', `http://${m.host.ip}:2379`, '--advertise-client-urls', `http://${m.host.ip}:2379`,
      '--listen-peer-urls', `http://${m.host.ip}:2380`, '--initial-advertise-peer-urls', `http://${m.host.ip}:2380`,
      '--initial-cluster', cluster, '--initial-cluster-token', this.tag, '--initial-cluster-state', state, '--listen-metrics-urls', '',
      '--heartbeat-interval', '100', '--election-timeout', '1000'], { stdio: ['ignore', log, log] });
    closeSync(log);
  }

  /** Stop one member by PID and wait for its exit. */
  async stopMember(m: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = m.process;
    m.process = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }

  /** `etcdctl` inside a member's namespace. */
  async etcdctl(args: readonly string[], via: LabHost = this.members[0]!.host): Promise<{ exitCode: number; stdout: string }> {
    const endpoints = this.members.map((m) => `${m.host.ip}:2379`).join(',');
    const r = await execa('nsenter', [`--net=${via.netnsPath}`, '--', 'etcdctl', `--endpoints=${endpoints}`, '--dial-timeout=1s', '--command-timeout=3s', ...args], {
      env: { ETCDCTL_API: '3' }, reject: false,
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
  }

  /** The member that is leader now, if any (asked of each running member; ids compared as text: they are uint64). */
  async leader(): Promise<EtcdMember | undefined> {
    for (const m of this.members.filter((x) => x.process !== undefined)) {
      const r = await execa('nsenter', [`--net=${m.host.netnsPath}`, '--', 'etcdctl', `--endpoints=${m.host.ip}:2379`, '--dial-timeout=1s', 'endpoint', 'status', '-w', 'fields'], {
        env: { ETCDCTL_API: '3' }, reject: false,
      });
      const id = /"MemberID" : (\d+)/.exec(r.stdout)?.[1];
      const leader = /"Leader" : (\d+)/.exec(r.stdout)?.[1];
      if (id !== undefined && id === leader) return m;
    }
    return undefined;
  }

  /** Wait until every running member reports healthy. */
  async waitHealthy(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if ((await this.etcdctl(['endpoint', 'health'])).exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('etcd cluster did not become healthy');
  }

  /** Delete a host's namespace (a dead host). */
  async removeHost(host: LabHost): Promise<void> {
    await ip('netns', 'del', host.netns).catch(() => undefined);
  }

  /** Stop every member, delete every namespace and the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m)));
    for (const h of this.hosts) await execa('ip', ['netns', 'del', h.netns], { reject: false });
    await execa('ip', ['netns', 'del', this.#underlay], { reject: false });
    await rm(this.dir, { recursive: true, force: true });
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** A single etcd member on loopback (store-level tests): random client/peer ports from separate ranges. */
export async function startLoopbackEtcd(): Promise<{ endpoint: string; stop(): Promise<void>; restart(): Promise<void>; pause(): void; resume(): void }> {
  const dir = await mkdtemp(join(SHM, 'sandns-etcd-'));
  const b = randomBytes(2).readUInt16BE(0);
  const client = 30000 + (b % 5000);
  const peer = 36000 + (b % 5000);
  const name = `s${b}`;
  let p: ChildProcess | undefined;
  const start = async (state: 'new' | 'existing'): Promise<void> => {
    const log = openSync(join(dir, 'etcd.log'), 'a');
    p = spawn('etcd', ['--logger', 'zap', '--log-level', 'warn', '--name', name, '--data-dir', join(dir, 'data'),
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `${name}=http://127.0.0.1:${peer}`, '--initial-cluster-state', state, '--listen-metrics-urls', ''], { stdio: ['ignore', log, log] });
    closeSync(log);
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const r = await execa('etcdctl', [`--endpoints=127.0.0.1:${client}`, '--dial-timeout=1s', 'endpoint', 'health'], { env: { ETCDCTL_API: '3' }, reject: false });
      if (r.exitCode === 0) return;
      await new Promise((r2) => setTimeout(r2, 50));
    }
    throw new Error('loopback etcd did not start');
  };
  const kill = async (): Promise<void> => {
    const q = p;
    p = undefined;
    if (q === undefined || q.exitCode !== null || q.signalCode !== null) return;
    const exited = new Promise((r) => q.once('exit', r));
    q.kill('SIGKILL');
    await exited;
  };
  await start('new');
  return {
    endpoint: `127.0.0.1:${client}`,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      await start('existing');
    },
    pause: () => p?.kill('SIGSTOP'),
    resume: () => p?.kill('SIGCONT'),
  };
}
