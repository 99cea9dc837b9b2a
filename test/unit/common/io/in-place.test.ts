import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readNoFollowSync, serializeOnPath, writeInPlace, writeInPlaceSync } from '../../../../common/io/in-place.js';

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

describe('writeInPlaceSync and readNoFollowSync', () => {
  it('H4 the blocking write keeps the inode, cuts the old tail and creates with the exact mode', async () => {
    const path = join(dir, 'sub', 'hosts');
    const previous = process.umask(0o077);
    try {
      writeInPlaceSync(path, 'first, longer content\n', { create: true, mode: 0o644 });
    } finally {
      process.umask(previous);
    }
    const { ino, mode } = await stat(path);
    expect(mode & 0o777).toBe(0o644);
    writeInPlaceSync(path, Buffer.from('short\n'), { create: false, mode: 0o600 });
    expect(readNoFollowSync(path).toString()).toBe('short\n');
    expect((await stat(path)).ino).toBe(ino);
    expect(() => writeInPlaceSync(join(dir, 'missing'), 'x', { create: false, mode: 0o644 })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('L7 a symlink at the path is refused for reads and writes (ERR_FILE_SYMLINK), its target untouched', async () => {
    const target = join(dir, 'target');
    await writeFile(target, 'secret\n');
    await symlink(target, join(dir, 'link'));
    expect(() => readNoFollowSync(join(dir, 'link'))).toThrow(expect.objectContaining({ code: 'ERR_FILE_SYMLINK' }));
    expect(() => writeInPlaceSync(join(dir, 'link'), 'x', { create: true, mode: 0o644 })).toThrow(expect.objectContaining({ code: 'ERR_FILE_SYMLINK' }));
    await expect(writeInPlace(join(dir, 'link'), 'x', { create: true, mode: 0o644 })).rejects.toMatchObject({ code: 'ERR_FILE_SYMLINK' });
    expect(await readFile(target, 'utf8')).toBe('secret\n');
  });

  it('H4 a FIFO or directory at the path is refused at once (ERR_FILE_NOT_REGULAR), never blocking the event loop', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await mkdir(join(dir, 'adir'));
    const t0 = performance.now();
    for (const path of [fifo, join(dir, 'adir')]) {
      expect(() => readNoFollowSync(path)).toThrow(expect.objectContaining({ code: 'ERR_FILE_NOT_REGULAR' }));
      expect(() => writeInPlaceSync(path, 'x', { create: true, mode: 0o644 })).toThrow(expect.objectContaining({ code: 'ERR_FILE_NOT_REGULAR' }));
    }
    // A blocking open of a FIFO without a writer would never return; the refusal is immediate.
    expect(performance.now() - t0).toBeLessThan(1000);
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
