/**
 * Real runtimes driving the CNI plugin (no registry: a busybox-static rootfs
 * imported as an image). podman 4.3 with the CNI backend and runc (the
 * containers.conf this machine needs: cgroupfs, runc, ulimits, private CNI
 * dirs), confined with `nsenter --net` into a scratch host namespace:
 * `podman run --name web --network-alias www` and a second container resolve
 * each other by name and alias through sandns, chained after bridge +
 * host-local and as the main plugin; `podman rm -f` removes the records.
 * containerd's `ctr run --cni` (private root/state/socket, started and
 * stopped by PID; its fixed CNI paths bind-mounted in a private mount
 * namespace): one container resolves the other, whose /proc/<pid>/ns/net
 * the daemon pins. Everything made here is removed in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { installSandnsPlugin } from '../helpers/libcni.js';
import { waitFor } from '../helpers/wait.js';

const tag = uniqueName('r');
const host = `${tag}h`;
const image = `localhost/${tag}-busybox:1`;
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
let containerd: ChildProcess | undefined;
const chained = randomSubnet();
const main = randomSubnet();
const ctrNet = randomSubnet();

const podman = (args: string[], timeout = 60_000) => execa('nsenter', [`--net=/run/netns/${host}`, '--', 'podman', '--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'overlay', ...args], {
  env: { CONTAINERS_CONF: join(dir, 'containers.conf') }, reject: false, timeout,
});

/** ctr inside a private mount namespace where /etc/cni/net.d and /opt are ours (ctr's CNI paths are fixed). */
const ctr = (args: string[], timeout = 60_000) => execa('unshare', ['-m', 'sh', '-c',
  `mount --make-rprivate / && mount --bind ${join(dir, 'net.d')} /etc/cni/net.d && mount --bind ${join(dir, 'opt')} /opt && exec nsenter --net=/run/netns/${host} ctr --address ${join(dir, 'ctrd', 'containerd.sock')} -n ${tag} "$@"`,
  'ctr', ...args], { reject: false, timeout });

/** The network's A records; none while the network does not exist yet. */
async function records(network: string): Promise<{ name: string; value: string }[]> {
  const r = await d.http('GET', `/records?network=${network}`);
  return r.status === 200 ? (r.body as { name: string; value: string; type: string }[]).filter((x) => x.type === 'A') : [];
}

async function rootfsTar(): Promise<string> {
  const root = join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) await mkdir(join(root, sub), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
  for (const tool of ['sh', 'nslookup', 'sleep', 'cat', 'ip']) await symlink('busybox', join(root, 'bin', tool));
  const tar = join(dir, 'busybox.tar');
  await execa('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

async function writeConfigs(socket: string): Promise<void> {
  await mkdir(join(dir, 'cni'), { recursive: true });
  await writeFile(join(dir, 'containers.conf'), [
    '[containers]', 'log_driver = "k8s-file"', 'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
    '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', `events_logfile_path = "${join(dir, 'events.log')}"`, 'runtime = "runc"', `tmp_dir = "${join(dir, 'tmp')}"`,
    '[network]', 'network_backend = "cni"', `network_config_dir = "${join(dir, 'cni')}"`, `cni_plugin_dirs = ["${join(dir, 'opt', 'cni', 'bin')}", "/usr/lib/cni"]`,
    `default_network = "${tag}def"`, `default_subnet = "${randomSubnet().subnet}"`, '',
  ].join('\n'));
  const bridge = (name: string, s: { subnet: string; prefix: string }) => ({
    type: 'bridge', bridge: `${tag}${name}`, isGateway: true, ipMasq: false, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: s.subnet, gateway: `${s.prefix}.1` }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
  });
  const conf = (name: string, plugins: object[]) => JSON.stringify({ cniVersion: '1.0.0', name, plugins });
  await writeFile(join(dir, 'cni', `${tag}ch.conflist`), conf(`${tag}ch`, [bridge('b1', chained), { type: 'sandns', socket, capabilities: { aliases: true } }]));
  await writeFile(join(dir, 'cni', `${tag}mn.conflist`), conf(`${tag}mn`, [{ type: 'sandns', socket, subnet: main.subnet, capabilities: { aliases: true, portMappings: true } }]));
  await mkdir(join(dir, 'net.d'), { recursive: true });
  await writeFile(join(dir, 'net.d', '10-sandns.conflist'), conf(`${tag}ct`, [bridge('b2', ctrNet), { type: 'sandns', socket }]));
}

async function startContainerd(): Promise<void> {
  const c = join(dir, 'ctrd');
  await mkdir(c, { recursive: true });
  await writeFile(join(c, 'config.toml'), [
    'version = 2', `root = "${join(c, 'root')}"`, `state = "${join(c, 'state')}"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = "${join(c, 'containerd.sock')}"`, '[ttrpc]', `  address = "${join(c, 'containerd.sock.ttrpc')}"`,
    '[plugins."io.containerd.internal.v1.opt"]', `  path = "${join(c, 'opt')}"`, '',
  ].join('\n'));
  containerd = spawn('containerd', ['--config', join(c, 'config.toml'), '--log-level', 'warn'], { stdio: 'ignore' });
  await waitFor(async () => (await execa('ctr', ['--address', join(c, 'containerd.sock'), 'version'], { reject: false })).exitCode === 0, 15_000);
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-810-'));
  await execa('ip', ['netns', 'add', host]);
  await execa('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  d = await stateDaemon(build.bin, join(dir, 'daemon'), { netns: `/run/netns/${host}` });
  await d.start();
  await installSandnsPlugin(join(dir, 'opt', 'cni', 'bin'), join(build.bin, '..', 'sandns-cni.js'));
  await writeConfigs(d.socket);
  const imported = await podman(['import', '--change', 'CMD ["/bin/sh"]', await rootfsTar(), image]);
  expect(imported.exitCode, imported.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await podman(['rm', '-f', '-t', '0', '--all']);
  await podman(['system', 'reset', '-f'], 120_000);
  if (containerd !== undefined) {
    for (const t of ['t1', 't2']) {
      await ctr(['task', 'kill', '-s', 'KILL', t]);
      await ctr(['task', 'rm', '-f', t]);
      await ctr(['container', 'rm', t]);
    }
    await ctr(['images', 'rm', image]);
    containerd.kill('SIGTERM');
    await new Promise((r) => (containerd!.exitCode !== null ? r(undefined) : containerd!.once('exit', r)));
    await rm(`/run/containerd/runc/${tag}`, { recursive: true, force: true }); // runc's root for our namespace (a fixed path)
  }
  if (d?.alive()) {
    for (const s of await d.api<{ id: string }[]>('GET', '/sandboxes').catch(() => [])) await d.http('DELETE', `/sandboxes/${s.id}`);
    for (const n of await d.api<{ name: string }[]>('GET', '/networks').catch(() => [])) await d.http('DELETE', `/networks/${n.name}`);
    await d.kill('SIGTERM');
  }
  for (const f of await readdir('/var/lib/cni/results').catch(() => [])) if (f.includes(tag)) await rm(join('/var/lib/cni/results', f), { force: true });
  await execa('ip', ['netns', 'del', host], { reject: false });
  await execa('umount', ['-R', join(dir, 'storage')], { reject: false });
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 180_000);

describe('podman 4.3 with the CNI backend', () => {
  for (const [mode, net] of [['chained after bridge + host-local', `${tag}ch`], ['as the main plugin', `${tag}mn`]] as const) {
    it(`K2 K5 ${mode}: web (alias www) and a second container resolve each other; podman rm -f removes the records`, async () => {
      const web = `${tag}-web-${net.slice(-2)}`;
      const run = await podman(['run', '-d', '--name', web, '--network', net, '--network-alias', 'www', image, 'sleep', '600']);
      expect(run.exitCode, run.stderr).toBe(0);
      const q = await podman(['run', '--rm', '--name', `${tag}-cli`, '--network', net, image, 'sh', '-c',
        `grep -q '^nameserver 127.0.0.11' /etc/resolv.conf && nslookup ${web} 127.0.0.11 && nslookup www 127.0.0.11 && ip -4 -o addr show eth0`]);
      expect(q.exitCode, q.stdout + q.stderr).toBe(0);
      const webIp = (await records(net)).find((r) => r.name === web)!.value;
      expect(q.stdout).toContain(`Name:\t${web}\nAddress: ${webIp}`);
      expect(q.stdout).toContain(`Name:\twww\nAddress: ${webIp}`);
      const cliIp = /inet (\S+)\//.exec(q.stdout)![1]!;
      // ... and back: web resolves a container by name while it runs.
      const peer = await podman(['run', '-d', '--name', `${tag}-peer`, '--network', net, image, 'sleep', '600']);
      expect(peer.exitCode, peer.stderr).toBe(0);
      const back = await podman(['exec', web, 'nslookup', `${tag}-peer`, '127.0.0.11']);
      expect(back.exitCode, back.stdout + back.stderr).toBe(0);
      expect(cliIp).not.toBe(webIp);
      expect((await podman(['rm', '-f', '-t', '0', web, `${tag}-peer`])).exitCode).toBe(0);
      expect(await records(net)).toEqual([]);
      expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
    }, 120_000);
  }
});

describe('containerd ctr run --cni', () => {
  it('K5 K8 K10 one container resolves the other (named <namespace>-<id>, whole)', async () => {
    await startContainerd();
    const oci = join(dir, 'busybox-oci.tar');
    expect((await podman(['save', '--format', 'oci-archive', '-o', oci, image])).exitCode).toBe(0);
    const imp = await ctr(['images', 'import', '--base-name', `localhost/${tag}-busybox`, oci]);
    expect(imp.exitCode, imp.stderr).toBe(0);
    // t1 runs with --rm in the background: when its task ends, ctr runs the CNI DEL (an empty CNI_NETNS).
    const t1 = ctr(['run', '--rm', '--cni', image, 't1', 'sleep', '600'], 180_000);
    const name = `${tag}-t1`;
    await waitFor(async () => (await records(`${tag}ct`)).some((r) => r.name === name), 30_000);
    const t1Ip = (await records(`${tag}ct`)).find((r) => r.name === name)!.value;
    const sb = (await d.api<{ id: string; netnsPath: string }[]>('GET', '/sandboxes'))[0]!;
    expect(sb.netnsPath).toBe(`/run/netns/sandns-pin-${tag}-t1`); // ctr gave /proc/<pid>/ns/net
    const t2 = await ctr(['run', '--rm', '--cni', image, 't2', 'nslookup', name, '127.0.0.11']);
    expect(t2.exitCode, t2.stdout + t2.stderr).toBe(0);
    expect(t2.stdout).toContain(`Address: ${t1Ip}`);
    await ctr(['task', 'kill', '-s', 'KILL', 't1']);
    await t1;
    await waitFor(async () => (await records(`${tag}ct`)).length === 0, 30_000);
    expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(`sandns-pin-${tag}`);
  }, 180_000);
});
