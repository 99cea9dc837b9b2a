import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pinLocation, pinnedLocation, readNoFollowSync, removeAtLocation, serializeOnPath, unpinLocation, writeInPlace, writeInPlaceSync } from '../../../../common/io/in-place.js';

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

describe('removeAtLocation (L7: a delete never goes through a directory swapped for a symlink)', () => {
  it('L7 removes where the pin says; absent is no error; a swapped parent or a swapped directory is left alone', async () => {
    const decoy = join(dir, 'decoy');
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await mkdir(decoy);
    const file = join(dir, 'a', 'b', 'hosts');
    await writeFile(file, 'ours\n');
    pinLocation(file);
    try {
      const location = pinnedLocation(file)!;
      expect(pinnedLocation(join(dir, 'a', 'b'), [file])).toBe(join(await realDir(dir), 'a', 'b'));
      expect(pinnedLocation(join(dir, 'a'), [file])).toBe(join(await realDir(dir), 'a'));
      expect(pinnedLocation(join(dir, 'x'), [file])).toBeUndefined();
      // the parent swapped: a/b -> decoy, which holds a file of the same name
      await writeFile(join(decoy, 'hosts'), 'precious\n');
      execFileSync('mv', [join(dir, 'a', 'b'), join(dir, 'a', 'b.real')]);
      await symlink(decoy, join(dir, 'a', 'b'));
      expect(removeAtLocation(file, location)).toBe('moved');
      // a directory higher up swapped: a -> elsewhere whose b/hosts is the decoy's
      await rm(join(dir, 'a', 'b'));
      execFileSync('mv', [join(dir, 'a', 'b.real'), join(dir, 'a', 'b')]);
      execFileSync('mv', [join(dir, 'a'), join(dir, 'a.real')]);
      await mkdir(join(dir, 'other'));
      await symlink(decoy, join(dir, 'other', 'b'));
      await symlink(join(dir, 'other'), join(dir, 'a'));
      expect(removeAtLocation(file, location)).toBe('moved');
      expect(removeAtLocation(join(dir, 'a', 'b'), pinnedLocation(join(dir, 'a', 'b'), [file])!, true)).toBe('moved');
      expect(await readFile(join(decoy, 'hosts'), 'utf8')).toBe('precious\n');
      // back in place: removed, then absent; the empty directory goes through its own pin
      await rm(join(dir, 'a'));
      execFileSync('mv', [join(dir, 'a.real'), join(dir, 'a')]);
      expect(removeAtLocation(file, location)).toBe('removed');
      expect(removeAtLocation(file, location)).toBe('absent');
      expect(removeAtLocation(join(dir, 'a', 'b'), pinnedLocation(join(dir, 'a', 'b'), [file])!, true)).toBe('removed');
      expect(existsSync(join(dir, 'a', 'b'))).toBe(false);
      expect(removeAtLocation(join(dir, 'gone', 'x'), join(dir, 'gone', 'x'))).toBe('absent');
    } finally {
      unpinLocation(file);
    }
  });

  it('L7 a directory swapped back and forth while deletes run: the decoy is never removed (the check and the unlink are one step)', async () => {
    const decoy = join(dir, 'decoy');
    await mkdir(join(dir, 'd'));
    await mkdir(decoy);
    const file = join(dir, 'd', 'hosts');
    writeFileSync(file, 'ours\n');
    pinLocation(file);
    const location = pinnedLocation(file)!;
    unpinLocation(file);
    // Our own directory, reachable whatever its name is at the moment, to put the file back between deletes.
    const real = openSync(join(dir, 'd'), constants.O_RDONLY | constants.O_DIRECTORY);
    // A swapper: d -> a symlink to the decoy, and back, as fast as the shell goes (each step an atomic rename).
    const swapper = spawn('bash', ['-c', `cd ${dir} && ln -s decoy link && while :; do mv -T d real; mv -T link d; mv -T d link; mv -T real d; done`], { stdio: 'ignore', detached: true });
    const gone = new Promise((r) => swapper.once('exit', r));
    const outcome = { removed: 0, moved: 0, absent: 0 };
    try {
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        writeFileSync(join(decoy, 'hosts'), 'precious\n');
        writeFileSync(`/proc/self/fd/${real}/hosts`, 'ours\n');
        outcome[removeAtLocation(file, location)]++;
        expect(existsSync(join(decoy, 'hosts')), 'the decoy was removed').toBe(true);
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      process.kill(-swapper.pid!, 'SIGKILL'); // the whole group: bash and the mv it is running
      await gone;
      closeSync(real);
    }
    // Both kinds of moment were met, or the test proved nothing.
    expect(outcome.removed).toBeGreaterThan(0);
    expect(outcome.moved).toBeGreaterThan(0);
  });
});

async function realDir(p: string): Promise<string> {
  return execFileSync('realpath', [p]).toString().trim();
}
