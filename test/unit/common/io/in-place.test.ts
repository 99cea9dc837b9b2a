import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeOnPath, writeInPlace } from '../../../../common/io/in-place.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-inplace-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeInPlace', () => {
  it('H4 growing and shrinking content keeps the inode and leaves no old tail', async () => {
    const path = join(dir, 'f');
    await writeFile(path, 'old content that is long\n');
    const { ino } = await stat(path);
    await writeInPlace(path, 'new\n', { create: false, mode: 0o644 });
    expect(await readFile(path, 'utf8')).toBe('new\n');
    await writeInPlace(path, 'much longer new content\n'.repeat(100), { create: false, mode: 0o644 });
    expect(await readFile(path, 'utf8')).toBe('much longer new content\n'.repeat(100));
    expect((await stat(path)).ino).toBe(ino);
  });

  it('H4 a missing file is an error unless create is asked; created with the exact mode despite umask', async () => {
    const path = join(dir, 'sub', 'f');
    await expect(writeInPlace(path, 'x', { create: false, mode: 0o644 })).rejects.toMatchObject({ code: 'ENOENT' });
    const previous = process.umask(0o077);
    try {
      await writeInPlace(path, 'x', { create: true, mode: 0o644 });
    } finally {
      process.umask(previous);
    }
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it('H4 an existing file keeps its mode', async () => {
    const path = join(dir, 'f');
    await writeFile(path, 'a', { mode: 0o600 });
    await writeInPlace(path, 'b', { create: true, mode: 0o644 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('serializeOnPath', () => {
  it('H4 tasks on one path run one at a time in order, even after a failure; other paths do not wait', async () => {
    const log: string[] = [];
    const slow = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a = serializeOnPath(join(dir, 'p'), slow('a', 30, true));
    const b = serializeOnPath(join(dir, 'p'), slow('b', 1));
    const c = serializeOnPath(join(dir, 'q'), slow('c', 1));
    await expect(a).rejects.toThrow('a');
    expect(await b).toBe('b');
    expect(await c).toBe('c');
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'));
    expect(log.indexOf('end c')).toBeLessThan(log.indexOf('end a'));
  });
});
