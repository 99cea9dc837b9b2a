import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../common/log.js';
import { watchResolvConf, type ResolvConf, type ResolvConfWatch } from '../../../../resolvconf/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `predicate` holds, polling every 20 ms, for at most `ms`. */
async function waitFor(predicate: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

let dir: string;
let path: string;
let watch: ResolvConfWatch | undefined;
let seen: ResolvConf[];
const start = async (opts: { pollMs?: number } = {}, target = path): Promise<void> => {
  watch = watchResolvConf(target, (conf) => seen.push(conf), { logger: silentLogger(), debounceMs: 100, pollMs: 200, ...opts });
  await sleep(150); // let the baseline read finish
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-watch-'));
  path = join(dir, 'resolv.conf');
  seen = [];
  await writeFile(path, 'nameserver 10.0.0.1\n');
});
afterEach(async () => {
  watch?.close();
  watch = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('watchResolvConf', () => {
  it('C5 an in-place write is reported once with the new parsed content', async () => {
    await start();
    await writeFile(path, 'nameserver 10.0.0.2\nsearch example.com\n');
    await waitFor(() => seen.length === 1, 1000);
    expect(seen[0]).toMatchObject({ sourcePath: path, nameservers: ['10.0.0.2'], search: ['example.com'] });
    await sleep(400);
    expect(seen).toHaveLength(1);
  });

  it('C5 a replacement by rename (editors, resolvconf(8)) is reported', async () => {
    await start();
    const temp = join(dir, '.resolv.conf.tmp');
    await writeFile(temp, 'nameserver 192.0.2.53\n');
    await rename(temp, path);
    await waitFor(() => seen.length === 1, 1000);
    expect(seen[0]?.nameservers).toEqual(['192.0.2.53']);
    await writeFile(path, 'nameserver 192.0.2.54\n'); // the new inode is watched too
    await waitFor(() => seen.length === 2, 1000);
    expect(seen[1]?.nameservers).toEqual(['192.0.2.54']);
  });

  it('C5 a burst of 20 writes gives exactly one callback with the final content', async () => {
    await start();
    for (let i = 1; i <= 20; i++) await writeFile(path, `nameserver 10.0.1.${i}\n`);
    await waitFor(() => seen.length >= 1, 1500);
    await sleep(500); // past debounce and two poll periods
    expect(seen).toHaveLength(1);
    expect(seen[0]?.nameservers).toEqual(['10.0.1.20']);
  });

  it('C5 a rewrite with the same directives (comments only, or identical) is not reported', async () => {
    await start();
    await writeFile(path, '# refreshed by dhclient\nnameserver 10.0.0.1\n');
    await sleep(250);
    await writeFile(path, 'nameserver 10.0.0.1\n');
    await sleep(500);
    expect(seen).toHaveLength(0);
  });

  it('C5 with no directory watch the stat poll still sees the change within a second', async () => {
    const later = join(dir, 'not-yet', 'resolv.conf'); // fs.watch on a missing directory fails
    await start({ pollMs: 1000 }, later);
    await mkdir(join(dir, 'not-yet'));
    const written = Date.now();
    await writeFile(later, 'nameserver 198.51.100.1\n');
    await waitFor(() => seen.length === 1, 2500);
    expect(Date.now() - written).toBeLessThan(1500); // poll period + debounce + slack
    expect(seen[0]?.nameservers).toEqual(['198.51.100.1']);
  });

  it('C5 a deleted file reads as empty; close() stops all callbacks', async () => {
    await start();
    await rm(path);
    await waitFor(() => seen.length === 1, 1000);
    expect(seen[0]?.nameservers).toEqual([]);
    watch?.close();
    await writeFile(path, 'nameserver 10.9.9.9\n');
    await sleep(500);
    expect(seen).toHaveLength(1);
  });

  it('C5 bad options are ERR_INVALID_OPTION', () => {
    const logger = silentLogger();
    expect(() => watchResolvConf(path, () => {}, { logger, debounceMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => watchResolvConf(path, () => {}, { logger, pollMs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
