/**
 * A daemon with its firewall on (the default) on a host without nftables
 * refuses to start, saying what to install or which flag to use, and makes
 * nothing (not even its state directory). Before, it started and every
 * network create failed with a 500 quoting the whole nft ruleset. With
 * --no-firewall the same host starts it. `nft` is hidden by running the
 * daemon with a PATH of an empty directory, inside a scratch namespace.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';

const HOST = `${uniqueName('nf')}-host`;
let build: { bin: string; remove(): Promise<void> };
let dir = '';
let nsenter = '';

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-nonft-'));
  await writeFile(join(dir, 'resolv.conf'), '# no servers\n');
  await execa('ip', ['netns', 'add', HOST]);
  nsenter = (await execa('which', ['nsenter'])).stdout.trim();
}, 120_000);

afterAll(async () => {
  await execa('ip', ['netns', 'del', HOST], { reject: false });
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

function daemon(extra: readonly string[]) {
  const empty = join(dir, 'empty-path');
  return execa(nsenter, [`--net=/run/netns/${HOST}`, '--', process.execPath, build.bin, '--socket', join(dir, 'sandns.sock'), 'daemon',
    '--state-dir', join(dir, 'state'), '--origin-resolv-conf', join(dir, 'resolv.conf'), '--log-level', 'warn', ...extra,
  ], { env: { PATH: empty }, extendEnv: false, reject: false, timeout: 30_000 });
}

describe('305 a daemon on a host without nftables', () => {
  it('L1 firewall on: exit 1 with ERR_FIREWALL_UNAVAILABLE and the fix, nothing made; --no-firewall: it starts', async () => {
    const r = await daemon([]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the firewall needs nftables, but `nft` was not found in PATH: install it .*or start the daemon with --no-firewall \[ERR_FIREWALL_UNAVAILABLE\]/);
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(existsSync(join(dir, 'sandns.sock'))).toBe(false);

    const ok = daemon(['--no-firewall']);
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = existsSync(join(dir, 'sandns.sock'));
        if (!up) await new Promise((res) => setTimeout(res, 100));
      }
      expect(up).toBe(true);
    } finally {
      ok.kill('SIGTERM');
      expect((await ok).exitCode).toBe(0);
    }
  }, 60_000);
});
