/**
 * A host at its network-namespace limit (user.max_net_namespaces): unshare
 * answers ENOSPC, and a sandbox create must be 503 ERR_HOST_LIMIT naming the
 * sysctl, with nothing left (no pin file, no files, no sandbox), never a 500;
 * once a namespace is freed the same create succeeds. The machine's own limit
 * is never touched: the daemon runs as root of a user namespace of its own
 * (unshare -U -r, with its own mount and network namespaces), whose limit
 * the kernel checks as well as the machine's, and which its root may set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';

const tag = uniqueName('nl');
/** Namespaces the user namespace may hold: the daemon's own network namespace and two sandboxes. */
const LIMIT = 3;
let build: { bin: string; remove(): Promise<void> };
let dir = '';
let daemon: ChildProcess | undefined;

function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const req = request({ socketPath: join(dir, 'sandns.sock'), method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (r) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) }));
    });
    req.on('error', rej);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-nslimit-'));
  await writeFile(join(dir, 'resolv.conf'), '# sandns test origin: no servers\n');
  const log = openSync(join(dir, 'daemon.log'), 'a');
  // unshare and sh exec in place: the child's pid is the daemon's.
  daemon = spawn('unshare', ['-U', '-r', '-m', '-n', '--propagation', 'private', 'sh', '-c',
    `echo ${LIMIT} > /proc/sys/user/max_net_namespaces && exec "$0" "$@"`, process.execPath, build.bin,
    '--socket', join(dir, 'sandns.sock'), 'daemon', '--state-dir', join(dir, 'state'), '--origin-resolv-conf', join(dir, 'resolv.conf'),
    '--no-firewall', '--log-level', 'warn'], { stdio: ['ignore', log, log] });
  closeSync(log);
  for (let i = 0; i < 100; i++) {
    if (await http('GET', '/healthz').then((r) => r.status === 200, () => false)) return;
    if (daemon.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`daemon did not come up: ${readFileSync(join(dir, 'daemon.log'), 'utf8')}`);
}, 120_000);

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null) {
    for (const s of ((await http('GET', '/sandboxes').catch(() => ({ body: [] }))).body as unknown as { id: string }[])) await http('DELETE', `/sandboxes/${s.id}`).catch(() => undefined);
    const done = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await done;
  }
  for (const n of ['a', 'b', 'c']) {
    // The pins live in the daemon's own mount namespace; only their files are on the shared /run.
    await rm(`/run/netns/${tag}${n}`, { force: true });
    await rm(`/etc/netns/${tag}${n}`, { recursive: true, force: true });
    await rm(`/run/sandns/sandboxes/${tag}${n}`, { recursive: true, force: true });
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 60_000);

describe('308 a host at its network-namespace limit', () => {
  it('L1 create past user.max_net_namespaces: 503 ERR_HOST_LIMIT naming the sysctl, nothing left; after a delete it succeeds', async () => {
    expect((await http('POST', '/sandboxes', { name: `${tag}a` })).status).toBe(201);
    expect((await http('POST', '/sandboxes', { name: `${tag}b` })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const r = await http('POST', '/sandboxes', { name: `${tag}c` });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: 'ERR_HOST_LIMIT', details: { limit: 'user.max_net_namespaces', errno: 'ENOSPC', during: 'ERR_SANDBOX_NETNS' } });
      expect(r.body.message).toMatch(/network namespaces as the sysctl user\.max_net_namespaces allows: raise it or remove/);
      expect(existsSync(`/run/netns/${tag}c`)).toBe(false);
      expect(existsSync(`/etc/netns/${tag}c`)).toBe(false);
      expect(((await http('GET', '/sandboxes')).body as unknown as { id: string }[]).map((s) => s.id).sort()).toEqual([`${tag}a`, `${tag}b`]);
    }
    expect((await http('GET', '/healthz')).status).toBe(200);
    expect((await http('DELETE', `/sandboxes/${tag}b`)).status).toBe(200);
    // The kernel frees a namespace (and its count) in a work queue after the last reference goes: 503 until then.
    let status = 0;
    for (let i = 0; i < 100 && status !== 201; i++) {
      status = (await http('POST', '/sandboxes', { name: `${tag}c` })).status;
      expect([201, 503]).toContain(status);
      if (status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(201);
    const log = readFileSync(join(dir, 'daemon.log'), 'utf8');
    expect(log).not.toMatch(/"level":50/);
  }, 60_000);
});
