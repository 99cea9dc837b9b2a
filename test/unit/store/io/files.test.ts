import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, readdir, readlink, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateFiles, STATE_FILE, STATE_JOURNAL, STATE_LOCK, STATE_PREV, STATE_TMP, type StateFiles } from '../../../../store/io/files.js';
import { chooseState, encodeState } from '../../../../store/document.js';

const empty = { networks: [], endpoints: [], sandboxes: [] };
const doc = (seq: number): string => encodeState(empty, seq, new Date(0));

let dir: string;
let files: StateFiles;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-store-'));
  files = openStateFiles(join(dir, 'state'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('io/store: atomic writes', () => {
  it('L3 the directory is made 0700 and files are written 0600', async () => {
    await files.write(doc(1));
    expect((await stat(files.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(files.dir, STATE_FILE))).mode & 0o777).toBe(0o600);
  });

  it('L3 a write replaces state.json whole, keeps the previous good file as .prev and leaves no .tmp', async () => {
    await files.write(doc(1));
    await files.write(doc(2));
    expect((await readdir(files.dir)).sort()).toEqual([STATE_FILE, STATE_PREV]);
    expect(await files.readAll()).toEqual([{ name: STATE_FILE, text: doc(2) }, { name: STATE_PREV, text: doc(1) }]);
  });

  it('L3 a write cut off mid-record (torn .tmp) leaves the last good state in use', async () => {
    await files.write(doc(1));
    await files.write(doc(2));
    await writeFile(join(files.dir, STATE_TMP), doc(3));
    await truncate(join(files.dir, STATE_TMP), 57);
    const r = chooseState(await files.readAll());
    expect([r.chosen?.name, r.chosen?.seq, r.rejected.map((x) => x.name)]).toEqual([STATE_FILE, 2, [STATE_TMP]]);
    await files.write(doc(4)); // the torn temp file is simply overwritten
    expect(chooseState(await files.readAll()).chosen?.seq).toBe(4);
  });

  it('L3 a crash between the two renames (no state.json, complete .tmp) keeps the newest state', async () => {
    await files.write(doc(1));
    await writeFile(join(files.dir, STATE_TMP), doc(2));
    await rm(join(files.dir, STATE_FILE));
    await writeFile(join(files.dir, STATE_PREV), doc(1));
    expect(chooseState(await files.readAll()).chosen).toMatchObject({ name: STATE_TMP, seq: 2 });
    await files.write(doc(3));
    expect(await files.readAll()).toEqual([{ name: STATE_FILE, text: doc(3) }, { name: STATE_PREV, text: doc(1) }]);
  });

  it('L3 quarantine moves a bad state.json aside, so the next rotation never pushes it over the good .prev', async () => {
    await files.write(doc(1));
    await files.write(doc(2));
    await writeFile(join(files.dir, STATE_FILE), 'garbage');
    const aside = await files.quarantine(STATE_FILE, new Date('2026-01-01T00:00:00Z'));
    expect(aside).toBe('state.json.corrupt-2026-01-01T00-00-00-000Z');
    expect(await readFile(join(files.dir, aside), 'utf8')).toBe('garbage');
    await files.write(doc(3));
    expect(await files.readAll()).toEqual([{ name: STATE_FILE, text: doc(3) }, { name: STATE_PREV, text: doc(1) }]);
  });
});

describe('io/store: lock', () => {
  it('L3 unlock closes the journal kept open for appends (its descriptor is not left for the garbage collector)', async () => {
    const journalFds = async (): Promise<number> => {
      const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return links.filter((l) => l === join(files.dir, STATE_JOURNAL)).length;
    };
    await files.lock();
    await files.appendJournal!('x\n');
    expect(await journalFds()).toBe(1);
    await files.unlock();
    expect(await journalFds()).toBe(0);
  });

  it('L3 a live owner keeps the directory (ERR_STORE_LOCKED); a dead owner\'s lock is taken over; unlock gives it back', async () => {
    await writeFile(join(files.dir, STATE_LOCK), `${process.ppid}\n`);
    await expect(files.lock()).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED', details: { pid: process.ppid } });
    await writeFile(join(files.dir, STATE_LOCK), '2147483646\n'); // no such process
    await files.lock();
    expect(await readFile(join(files.dir, STATE_LOCK), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+ [0-9a-f-]{36} \\d+\\n$`));
    await files.lock(); // our own lock: taken again
    await files.unlock();
    expect((await readdir(files.dir)).includes(STATE_LOCK)).toBe(false);
  });

  it('L3 a lock whose pid now names another process (a reboot, or the pid reused after a kill -9) is taken over; the same process keeps it', async () => {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const started = (await readFile(`/proc/${process.ppid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19]!;
    // The live parent, as the lock's owner: the very process (same start, same boot) holds it.
    await writeFile(join(files.dir, STATE_LOCK), `${process.ppid} ${started} ${boot}\n`);
    await expect(files.lock()).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED', details: { pid: process.ppid } });
    // The same pid, started at another time: another process that reused the number.
    await writeFile(join(files.dir, STATE_LOCK), `${process.ppid} ${Number(started) + 1} ${boot}\n`);
    expect(await files.lock()).toEqual({ killed: process.ppid, running: expect.any(Array) });
    // The same pid and start, in an earlier boot: the machine rebooted since, nothing of it can run.
    await writeFile(join(files.dir, STATE_LOCK), `${process.ppid} ${started} 00000000-0000-0000-0000-000000000000\n`);
    expect(await files.lock()).toBeUndefined();
    await files.unlock();
    // Written in another PID namespace (a daemon in a container): its pid is checked as a pid, never taken over
    // because this namespace's process of that number started at another time.
    await writeFile(join(files.dir, STATE_LOCK), `${process.ppid} ${Number(started) + 1} ${boot} 1\n`);
    await expect(files.lock()).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED' });
  });

  it('L3 of several daemons starting at once on a dead owner\'s lock exactly one takes the directory (a kernel-freed claim, not the pid file alone)', async () => {
    const filesModule = fileURLToPath(new URL('../../../../store/io/files.ts', import.meta.url));
    // Each child waits for the same instant, takes the lock, prints the outcome and holds the lock until it is killed.
    // Its removal of a stale lock file is slowed down (300 ms) so that the starts overlap whatever the machine's
    // speed: with the pid file alone, each removes the lock the one before it has just taken, and all of them "win".
    const child = `import { createRequire, syncBuiltinESMExports } from 'node:module';
      const fsp = createRequire(import.meta.url)('node:fs/promises'); const rm = fsp.rm;
      fsp.rm = async (p, o) => { if (String(p).endsWith('/lock')) await new Promise((r) => setTimeout(r, 300)); return rm(p, o); };
      syncBuiltinESMExports();
      const { openStateFiles } = await import(${JSON.stringify(filesModule)});
      const at = Number(process.argv[1]); while (Date.now() < at) {}
      const out = await openStateFiles(process.argv[2]).lock().then(() => 'taken', (e) => e.code ?? String(e));
      process.stdout.write(out + '\\n'); setInterval(() => undefined, 1_000);`;
    for (let round = 0; round < 2; round++) {
      await writeFile(join(files.dir, STATE_LOCK), '2147483646\n'); // a dead owner (kill -9): its lock is taken over
      const at = Date.now() + 2_500;
      const kids = Array.from({ length: 3 }, () => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, String(at), files.dir], { stdio: ['ignore', 'pipe', 'inherit'] }));
      try {
        const outcomes = await Promise.all(kids.map((k) => new Promise<string>((resolve, reject) => {
          let text = '';
          k.stdout!.on('data', (d: Buffer) => {
            text += d.toString();
            if (text.endsWith('\n')) resolve(text.trim());
          });
          k.on('exit', (code) => reject(new Error(`child exited ${code} before answering`)));
        })));
        expect(outcomes.sort()).toEqual(['ERR_STORE_LOCKED', 'ERR_STORE_LOCKED', 'taken']);
      } finally {
        for (const k of kids) k.kill('SIGKILL');
        await Promise.all(kids.map((k) => (k.exitCode !== null || k.signalCode !== null ? undefined : new Promise((r) => k.once('exit', r)))));
      }
    }
  }, 60_000);
});
