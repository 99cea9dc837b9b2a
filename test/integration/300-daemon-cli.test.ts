/**
 * The daemon and its CLI end to end, in real namespaces (L1, R5, R6, R10,
 * R15, R16): every verb with its table and --json output, every error case
 * with its exit code and message, the API's protocol errors, and SIGTERM.
 * Nothing is forwarded anywhere: the daemon's origin resolv.conf names no
 * server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';
import { getentHosts } from '../helpers/exec.js';
import type { NetworkInfo, SandboxInfo } from '../../controller/index.js';
import type { RecordRow } from '../../api/index.js';

const tag = uniqueName('c');
const net = `${tag}n`;
const net6 = `${tag}v6`;
const sb = (n: string): string => `${tag}-${n}`;
const ext = `${tag}-ext`;
const { subnet, prefix } = randomSubnet();
// no leading zero in a group: the daemon answers the canonical form
const ula = `fd${tag.slice(1, 3)}:1${tag.slice(3, 6)}::`;

let build: { bin: string; remove(): Promise<void> };
let d: TestDaemon;

beforeAll(async () => {
  build = await buildCli();
  d = await startDaemon(build.bin);
  await execa('ip', ['netns', 'add', ext]);
});

afterAll(async () => {
  await d?.cleanup();
  await execa('ip', ['netns', 'del', ext], { reject: false });
  for (const n of ['keep']) await execa('ip', ['netns', 'del', sb(n)], { reject: false });
  for (const n of ['web', 'db', 'keep', 'ext']) await rm(`/etc/netns/${sb(n)}`, { recursive: true, force: true });
  // The sandbox left alive on purpose (daemon stopped, namespace kept) keeps its runtime directory too.
  await rm(`/run/sandns/sandboxes/${sb('keep')}`, { recursive: true, force: true });
  await build?.remove();
});

describe('300 sandns daemon and CLI', () => {
  it('L1 network create prints the id; ls, inspect show it as a table and as --json', async () => {
    const c = await d.cli(['network', 'create', net, '--subnet', subnet, '--ttl', '30']);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^[0-9a-f]{64}$/);
    const ls = await d.cli(['network', 'ls']);
    expect(ls.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+DRIVER\s+SCOPE\s+SUBNET\s+GATEWAY\s+SUBNET6\s+INTERNAL\s+TTL\s+ENDPOINTS$/);
    expect(ls.stdout).toMatch(new RegExp(`^${net}\\s+${c.stdout.slice(0, 12)}\\s+bridge\\s+local\\s+${prefix.replace(/\./g, '\\.')}\\.0/24\\s+${prefix.replace(/\./g, '\\.')}\\.1\\s+-\\s+no\\s+30\\s+0$`, 'm'));
    const list = await d.json<NetworkInfo[]>(['network', 'ls']);
    expect(list.find((n) => n.name === net)).toMatchObject({ id: c.stdout, subnet, ttl: 30, internal: false });
    const insp = await d.cli(['network', 'inspect', net]);
    expect(insp.stdout).toMatch(/^Name:\s+\S+$/m);
    expect(insp.stdout).toMatch(new RegExp(`^Subnet:\\s+${subnet.replace(/\./g, '\\.')}$`, 'm'));
    expect((await d.json<NetworkInfo>(['network', 'inspect', net])).id).toBe(c.stdout);
    // The 12 characters ls prints name it too (a unique id prefix, as Docker).
    expect((await d.json<NetworkInfo>(['network', 'inspect', c.stdout.slice(0, 12)])).id).toBe(c.stdout);
  });

  it('L1 --run-dir: a daemon keeps its sandboxes\' runtime files there, not in /run/sandns', async () => {
    const runDir = join(d.dir, 'own-run');
    const e = await startDaemon(build.bin, undefined, { args: ['--run-dir', runDir] });
    try {
      const name = sb('rd');
      expect((await e.cli(['sandbox', 'create', name, '--netns', `/run/netns/${ext}`])).exitCode).toBe(0);
      expect(existsSync(join(runDir, 'sandboxes', name, 'resolv.conf.hash'))).toBe(true);
      expect(existsSync(`/run/sandns/sandboxes/${name}`)).toBe(false);
      expect((await e.cli(['sandbox', 'rm', name])).exitCode).toBe(0);
      expect(existsSync(join(runDir, 'sandboxes', name))).toBe(false);
    } finally {
      await e.cleanup();
    }
  });

  it('L1 an IPv6 internal network: --ipv6 --subnet6 --internal', async () => {
    const c = await d.cli(['network', 'create', net6, '--ipv6', '--subnet6', `${ula}/64`, '--internal', '--subnet', randomSubnet().subnet]);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(await d.json<NetworkInfo>(['network', 'inspect', net6])).toMatchObject({ subnet6: `${ula}/64`, internal: true });
  });

  it('L1 sandbox create: a new namespace ip netns exec can enter, with its hosts and resolv.conf under /etc/netns', async () => {
    const c = await d.cli(['sandbox', 'create', sb('web'), '--dns-search', 'corp.test', '--dns-option', 'ndots:1', '--add-host', 'legacy:192.0.2.10']);
    expect([c.exitCode, c.stdout]).toEqual([0, sb('web')]);
    expect((await d.cli(['sandbox', 'create', sb('db')])).exitCode).toBe(0);
    expect((await execa('ip', ['netns', 'list'])).stdout).toContain(sb('web'));
    expect(await readFile(`/etc/netns/${sb('web')}/hosts`, 'utf8')).toMatch(/^192\.0\.2\.10\tlegacy$/m);
    const resolv = await readFile(`/etc/netns/${sb('web')}/resolv.conf`, 'utf8');
    expect(resolv).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(resolv).toMatch(/^search corp\.test$/m);
    expect((await execa('ip', ['netns', 'exec', sb('web'), 'getent', 'hosts', 'legacy'])).stdout).toMatch(/^192\.0\.2\.10\s+legacy$/);
  });

  it('L1 sandbox create --netns adopts an existing namespace (external key); rm leaves it', async () => {
    const c = await d.cli(['sandbox', 'create', sb('ext'), '--netns', `/run/netns/${ext}`]);
    expect(c.exitCode).toBe(0);
    const info = await d.json<SandboxInfo>(['sandbox', 'inspect', sb('ext')]);
    expect(info).toMatchObject({ netnsPath: `/run/netns/${ext}`, keyMode: 'path', hostsPath: `/etc/netns/${sb('ext')}/hosts` });
    expect((await d.cli(['sandbox', 'inspect', sb('ext')])).stdout).toMatch(/Key mode: +path \(an existing namespace/);
    const rmr = await d.cli(['sandbox', 'rm', sb('ext')]);
    expect([rmr.exitCode, rmr.stdout]).toEqual([0, sb('ext')]);
    expect(existsSync(`/run/netns/${ext}`)).toBe(true);
  });

  it('L1 R15 connect: peers resolve by name and alias at once (glibc through /etc/netns); sandbox ls and inspect show it', async () => {
    const c1 = await d.cli(['connect', net, sb('web'), '--alias', 'www']);
    expect(c1.stdout).toMatch(new RegExp(`^${sb('web')} connected to ${net} \\(${prefix.replace(/\./g, '\\.')}\\.\\d+ on eth0, aliases www\\)$`));
    const db = await d.json<{ ipv4: string; ifname: string }>(['connect', net, sb('db'), '--ip', `${prefix}.77`]);
    expect(db).toMatchObject({ ipv4: `${prefix}.77`, ifname: 'eth0' });
    expect(await getentHosts(sb('web'), sb('db'))).toEqual([`${prefix}.77`]);
    const web = (await d.json<SandboxInfo>(['sandbox', 'inspect', sb('web')])).endpoints[0]!;
    expect(await getentHosts(sb('db'), 'www')).toEqual([web.ipv4]);
    const ls = await d.cli(['sandbox', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`^${sb('db')}\\s+/run/netns/${sb('db')}\\s+${sb('db')}\\s+${net}=${prefix.replace(/\./g, '\\.')}\\.77\\s+yes$`, 'm'));
  });

  it('L1 records: every name, alias and PTR as a table and as --json, filtered by --network', async () => {
    const rows = await d.json<RecordRow[]>(['records', '--network', net]);
    const web = rows.find((r) => r.name === sb('web') && r.type === 'A')!;
    expect(rows.filter((r) => r.type === 'A').map((r) => `${r.name}/${r.kind}`).sort()).toEqual([`${sb('db')}/name`, `${sb('web')}/name`, 'www/alias'].sort());
    expect(rows).toContainEqual(expect.objectContaining({ type: 'PTR', name: `77.${prefix.split('.').reverse().join('.')}.in-addr.arpa.`, value: `${sb('db')}.${net}.` }));
    expect(rows.every((r) => r.network === net && r.ttl === 30)).toBe(true);
    const table = await d.cli(['records']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NETWORK\s+NAME\s+TTL\s+TYPE\s+VALUE\s+ENDPOINT\s+KIND$/);
    expect(table.stdout).toMatch(new RegExp(`^${net}\\s+www\\s+30\\s+A\\s+${web.value.replace(/\./g, '\\.')}\\s+${sb('web')}\\s+alias$`, 'm'));
  });

  it('R5 resolve explains a local hit, asked from inside the sandbox', async () => {
    const r = await d.json<{ reply: { status: string; answer: { data: string }[] }; explanation: { source: string; network: string } }>(['resolve', sb('web'), sb('db')]);
    expect(r.reply.status).toBe('NOERROR');
    expect(r.reply.answer.map((a) => a.data)).toEqual([`${prefix}.77`]);
    expect(r.explanation).toMatchObject({ source: 'local', network: net });
    const text = await d.cli(['resolve', sb('web'), 'www']);
    expect(text.stdout).toContain('status: NOERROR');
    expect(text.stdout).toMatch(new RegExp(`why: A www\\.: answered on network ${net}`));
  });

  it('R6 resolve explains a NODATA (AAAA of an IPv4-only peer) and a PTR by address', async () => {
    const r = await d.json<{ reply: { status: string; answer: unknown[] }; explanation: { source: string; reason: string } }>(['resolve', sb('web'), sb('db'), '--type', 'AAAA']);
    expect([r.reply.status, r.reply.answer.length, r.explanation.source, r.explanation.reason]).toEqual(['NOERROR', 0, 'nodata', 'no-data-of-type']);
    const ptr = await d.json<{ reply: { answer: { data: string }[] } }>(['resolve', sb('web'), `${prefix}.77`, '--type', 'PTR', '--tcp']);
    expect(ptr.reply.answer.map((a) => a.data)).toEqual([`${sb('db')}.${net}.`]);
  });

  it('R10 resolve explains a SERVFAIL: not local, and no upstream configured', async () => {
    const r = await d.json<{ reply: { status: string }; explanation: { source: string; summary: string } }>(['resolve', sb('web'), 'nothing.example.test']);
    expect([r.reply.status, r.explanation.source]).toEqual(['SERVFAIL', 'servfail']);
    expect(r.explanation.summary).toMatch(/no upstream servers/);
  });

  it('R15 disconnect: the name stops resolving at once', async () => {
    const r = await d.cli(['disconnect', net, sb('db')]);
    expect([r.exitCode, r.stdout]).toEqual([0, `${sb('db')} disconnected from ${net} (${prefix}.77 on eth0)`]);
    expect(await getentHosts(sb('web'), sb('db'))).toEqual([]);
    expect((await d.json<RecordRow[]>(['records', '--network', net])).some((x) => x.name === sb('db'))).toBe(false);
  });

  it('L1 error cases: exit 1 with the daemon\'s message and code', async () => {
    const cases: [string[], string, RegExp][] = [
      [['network', 'inspect', `${tag}zz`], 'ERR_NETWORK_NOT_FOUND', /no such network/],
      [['connect', `${tag}zz`, sb('db')], 'ERR_NETWORK_NOT_FOUND', /no such network/],
      [['network', 'create', net], 'ERR_NETWORK_EXISTS', /already exists/],
      [['sandbox', 'create', sb('db')], 'ERR_SANDBOX_EXISTS', /already exists/],
      [['network', 'create', `${tag}bad`, '--subnet', '10.1.2.0/33'], 'ERR_IPAM_INVALID_SUBNET', /invalid subnet/],
      [['connect', net, sb('db'), '--ip', '10.1.1.300'], 'ERR_INVALID_OPTION', /not a valid IPv4 address/],
      [['connect', net, sb('db'), '--ip', '192.0.2.1'], 'ERR_IPAM_ADDRESS_OUT_OF_RANGE', /cannot be used/],
      [['connect', net, sb('web')], 'ERR_SANDBOX_ALREADY_ON_NETWORK', /already connected/],
      [['disconnect', net, sb('db')], 'ERR_ENDPOINT_NOT_FOUND', /no endpoint/],
      [['network', 'rm', net], 'ERR_NETWORK_ACTIVE_ENDPOINTS', /active endpoint/],
      [['resolve', `${tag}zz`, 'x'], 'ERR_SANDBOX_NOT_FOUND', /no such sandbox/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await d.cli(argv);
      expect([argv.join(' '), r.exitCode, r.stdout]).toEqual([argv.join(' '), 1, '']);
      expect(r.stderr).toMatch(new RegExp(`^Error: .*\\[${code}\\]$`));
      expect(r.stderr).toMatch(message);
      const j = await d.cli(['--json', ...argv]);
      expect(JSON.parse(j.stderr)).toMatchObject({ code });
    }
  });

  it('L1 a daemon that is not running: exit 3 and the command that starts it; usage mistakes: exit 2', async () => {
    const r = await execa(process.execPath, [build.bin, '--socket', `${d.dir}/none.sock`, 'network', 'ls'], { reject: false });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`cannot reach the sandns daemon at ${d.dir}/none.sock`);
    expect(r.stderr).toContain(`Start it with: sudo sandns daemon --socket ${d.dir}/none.sock`);
    const env = await execa(process.execPath, [build.bin, 'status'], { reject: false, env: { SANDNS_SOCKET: d.socket } });
    expect([env.exitCode, env.stdout]).toEqual([0, expect.stringMatching(/^status:\s+ok$/m)]);
    for (const argv of [['network', 'create'], ['network', 'create', 'x', '--ttl', 'ten'], ['sandbox', 'create', 'x', '--add-host', 'bad'], ['connect', net]]) {
      expect((await d.cli(argv)).exitCode).toBe(2);
    }
  });

  it('L1 the API: socket mode 0600; bad JSON 400, unknown route 404, oversized body 413, all as {code, message}', async () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o600);
    const bad = await d.http('POST', '/networks', '{"name": ');
    expect([bad.status, JSON.parse(bad.text).code]).toEqual([400, 'ERR_API_BAD_REQUEST']);
    const nf = await d.http('GET', '/v9/whatever');
    expect([nf.status, JSON.parse(nf.text).code]).toEqual([404, 'ERR_API_NOT_FOUND']);
    const big = await d.http('POST', '/networks', JSON.stringify({ name: 'x'.repeat(2 << 20) }));
    expect([big.status, JSON.parse(big.text).code]).toEqual([413, 'ERR_API_BODY_TOO_LARGE']);
    expect(JSON.parse((await d.http('GET', '/healthz')).text)).toMatchObject({ status: 'ok', pid: d.pid });
  });

  it('R16 GET /metrics is Prometheus text with the daemon gauges, API counters and resolver families', async () => {
    const m = await d.http('GET', '/metrics');
    expect([m.status, m.type]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    expect(m.text).toMatch(/^sandns_sandboxes 2$/m);
    expect(m.text).toMatch(/^sandns_api_requests_total\{method="POST",route="\/networks\/:name\/connect",status="201"\} 2$/m);
    expect(m.text).toContain('# TYPE sandns_resolver_query_duration_seconds histogram');
    expect((await d.cli(['metrics'])).stdout).toContain('# TYPE sandns_networks gauge');
  });

  it('L1 a second daemon on the same socket refuses to start and leaves the first serving', async () => {
    const r = await execa(process.execPath, [build.bin, '--socket', d.socket, 'daemon', '--state-dir', `${d.dir}/state2`, '--origin-resolv-conf', `${d.dir}/resolv.conf`, '--no-firewall'], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('ERR_API_SOCKET_IN_USE');
    // Said in one plain line (besides the JSON log), and refused before its state directory was made or restored.
    expect(r.stderr.split('\n')).toContain(`Error: cannot listen on the API socket: a sandns daemon is already listening on ${d.socket} (stop it first, or give another --socket) [ERR_API_SOCKET_IN_USE]`);
    expect(existsSync(`${d.dir}/state2`)).toBe(false);
    expect((await d.http('GET', '/healthz')).status).toBe(200);
  });

  it('L1 rm verbs, then SIGTERM: exit 0, socket gone, state dir 0700, the namespace of a live sandbox stays', async () => {
    expect((await d.cli(['disconnect', net, sb('web')])).exitCode).toBe(0);
    for (const argv of [['sandbox', 'rm', sb('web')], ['sandbox', 'rm', sb('db')], ['network', 'rm', net], ['network', 'rm', net6]]) {
      const r = await d.cli(argv);
      expect([r.exitCode, r.stdout]).toEqual([0, argv[2]]);
    }
    expect(existsSync(`/run/netns/${sb('web')}`)).toBe(false);
    expect(await d.json<unknown[]>(['network', 'ls'])).toEqual([]);
    expect((await d.cli(['sandbox', 'create', sb('keep')])).exitCode).toBe(0);
    expect(await d.stop()).toBe(0);
    expect(existsSync(d.socket)).toBe(false);
    expect(statSync(`${d.dir}/state`).mode & 0o777).toBe(0o700);
    expect(existsSync(`/run/netns/${sb('keep')}`)).toBe(true);
    expect(await readFile(d.logPath, 'utf8')).toMatch(/"signal":"SIGTERM"/);
  });
});
