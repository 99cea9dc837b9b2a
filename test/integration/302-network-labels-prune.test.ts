/**
 * Network labels, creation time, `network ls` filters and `network prune`
 * against a real daemon (L1, L3): labels and the creation time survive a
 * restart; prune deletes only local networks without endpoints that match its
 * filters, asks first, and a refused answer removes nothing. The daemon runs
 * without a firewall and forwards nowhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildCli, randomSubnet, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';
import type { NetworkInfo } from '../../controller/index.js';

const tag = uniqueName('l');
const [A, B, C] = ['a', 'b', 'c'].map((x) => `${tag}${x}`) as [string, string, string];
const S = `${tag}-s`;

let build: { bin: string; remove(): Promise<void> };
let d: TestDaemon;
const started = Date.now();

beforeAll(async () => {
  build = await buildCli();
  d = await startDaemon(build.bin);
});

afterAll(async () => {
  await d?.cleanup();
  await build?.remove();
});

const names = async (args: string[]): Promise<string[]> => (await d.json<NetworkInfo[]>(['network', 'ls', ...args])).map((n) => n.name).sort();
const filters = (f: unknown): string => `filters=${encodeURIComponent(JSON.stringify(f))}`;

describe('302 network labels, ls filters and prune', () => {
  it('create keeps labels (sorted) and the creation time; inspect shows both', async () => {
    for (const [n, labels] of [[A, ['--label', 'tier=db', '--label', 'team=x=y']], [B, ['--label', 'tier=web']], [C, []]] as const) {
      const c = await d.cli(['network', 'create', n, '--subnet', randomSubnet().subnet, ...labels]);
      expect(c.exitCode, c.stderr).toBe(0);
    }
    const a = await d.json<NetworkInfo>(['network', 'inspect', A]);
    expect(Object.entries(a.labels ?? {})).toEqual([['team', 'x=y'], ['tier', 'db']]);
    const made = Date.parse(a.created ?? '');
    expect(made).toBeGreaterThanOrEqual(started - 1000);
    expect(made).toBeLessThanOrEqual(Date.now());
    expect((await d.json<NetworkInfo>(['network', 'inspect', C])).labels).toBeUndefined();
    expect((await d.cli(['network', 'inspect', A])).stdout).toMatch(/^Labels: +team=x=y, tier=db$/m);
    const sb = await d.cli(['sandbox', 'create', S]);
    expect(sb.exitCode, sb.stderr).toBe(0);
    const con = await d.cli(['connect', A, S]);
    expect(con.exitCode, con.stderr).toBe(0);
  });

  it('a bad label is 400 and makes nothing', async () => {
    for (const labels of [{ 'a=b': 'c' }, { a: 1 }, ['a=b'], { a: 'x\ny' }]) {
      const r = await d.http('POST', '/networks', JSON.stringify({ name: `${tag}x`, labels }));
      expect([r.status, JSON.parse(r.text).code]).toEqual([400, 'ERR_INVALID_OPTION']);
    }
    expect(await names([])).toEqual([A, B, C].sort());
  });

  it('ls -f: label KEY / KEY=VALUE, name part, dangling, keys combined; -q prints ids', async () => {
    expect(await names(['-f', 'label=tier'])).toEqual([A, B].sort());
    expect(await names(['-f', 'label=tier=db'])).toEqual([A]);
    expect(await names(['-f', 'label=team=x=y'])).toEqual([A]);
    // several label values must all hold (Docker's MatchKVList)
    expect(await names(['-f', 'label=tier=db', '-f', 'label=tier=web'])).toEqual([]);
    expect(await names(['-f', 'label=tier', '-f', 'label=team'])).toEqual([A]);
    expect(await names(['-f', `name=${tag}`, '-f', 'dangling=true'])).toEqual([B, C].sort());
    expect(await names(['-f', 'label=tier', '-f', 'dangling=true'])).toEqual([B]);
    expect(await names(['-f', 'type=builtin'])).toEqual([]);
    const ids = (await d.json<NetworkInfo[]>(['network', 'ls', '-f', 'label=tier=web'])).map((n) => n.id);
    const q = await d.cli(['network', 'ls', '-q', '-f', 'label=tier=web']);
    expect([q.exitCode, q.stdout]).toEqual([0, ids.map((i) => i.slice(0, 12)).join('\n')]);
    const bad = await d.http('GET', `/networks?${filters({ color: ['red'] })}`);
    expect([bad.status, JSON.parse(bad.text).code]).toEqual([400, 'ERR_INVALID_OPTION']);
    const junk = await d.http('GET', '/networks?filters=%7Bnot');
    expect(junk.status).toBe(400);
  });

  it('labels and creation time survive a restart', async () => {
    const before = await d.json<NetworkInfo>(['network', 'inspect', A]);
    expect(await d.stop()).toBe(0);
    d = await startDaemon(build.bin, undefined, { dir: d.dir });
    const after = await d.json<NetworkInfo>(['network', 'inspect', A]);
    expect([after.labels, after.created]).toEqual([before.labels, before.created]);
  });

  it('prune asks: "n" or no answer removes nothing (exit 1); filters select; --force skips the question; networks in use stay', async () => {
    for (const input of ['n\n', '']) {
      const r = await execa(process.execPath, [build.bin, '--socket', d.socket, 'network', 'prune'], { input, reject: false });
      expect([r.exitCode, r.stderr]).toEqual([1, expect.stringContaining('[ERR_CLI_CANCELLED]')]);
    }
    expect(await names([])).toEqual([A, B, C].sort());
    // made just now: nothing is older than an hour
    const young = await d.cli(['network', 'prune', '-f', '--filter', 'until=1h']);
    expect([young.exitCode, young.stdout]).toEqual([0, '']);
    const bad = await d.http('POST', `/networks/prune?${filters({ name: [C] })}`);
    expect([bad.status, JSON.parse(bad.text).code]).toEqual([400, 'ERR_INVALID_OPTION']);
    // every label filter must hold (Docker): a network with only one of them stays
    const D = `${tag}d`;
    expect((await d.cli(['network', 'create', D, '--subnet', randomSubnet().subnet, '--label', 'team=x=y'])).exitCode).toBe(0);
    const both = await d.cli(['network', 'prune', '-f', '--filter', 'label=tier=db', '--filter', 'label=team=x=y']);
    expect([both.exitCode, both.stdout]).toEqual([0, '']);
    expect(await names([])).toEqual([A, B, C, D].sort());
    const noTier = await execa(process.execPath, [build.bin, '--socket', d.socket, 'network', 'prune', '--filter', 'label!=tier'], { input: 'y\n', reject: false });
    expect([noTier.exitCode, noTier.stdout], noTier.stderr).toEqual([0, `Deleted Networks:\n${[C, D].sort().join('\n')}`]);
    const all = await d.http('POST', '/networks/prune');
    expect([all.status, JSON.parse(all.text)]).toEqual([200, { deleted: [B], failed: [] }]);
    expect(await names([])).toEqual([A]);
  });
});
