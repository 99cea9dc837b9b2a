/**
 * The embedded state store (L3): three files in one directory, no server.
 * A write never touches the current file in place: the new text goes to
 * `state.json.tmp` (fsync), the current file becomes `state.json.prev`, the
 * temp file is renamed to `state.json`, then the directory is fsynced. At any
 * crash point one complete file holds the last good state, and the reader
 * (document.ts chooseState) picks the newest one whose checksum holds.
 *
 * Between snapshots each commit is a line appended to `state.journal` (one
 * write, and one fdatasync unless the line describes only what a reboot ends;
 * ../keeper.ts). A snapshot rotates the journal to
 * `state.journal.prev`, so `state.json.prev` plus that file still give the
 * newest state when `state.json` is lost.
 */
import { open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { mkdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StateLockedError } from '../errors.js';
import { waitForOrphans } from '../../common/io/exec.js';
import { claimAbstractName } from '../../common/io/claim.js';
import { crashPoint } from '../../common/crash.js';

/** The file names, newest first by role. */
export const STATE_FILE = 'state.json';
export const STATE_TMP = 'state.json.tmp';
export const STATE_PREV = 'state.json.prev';
export const STATE_LOCK = 'lock';
export const STATE_JOURNAL = 'state.journal';
export const STATE_JOURNAL_PREV = 'state.journal.prev';

/** The store's files. */
export interface StateFiles {
  readonly dir: string;
  /** The text of every state file that exists (state.json, .tmp, .prev). */
  readAll(): Promise<{ name: string; text: string }[]>;
  /** Write `text` atomically as the new state.json; the current one becomes state.json.prev. */
  write(text: string): Promise<void>;
  /** Move a bad file aside (kept for inspection, never rotated over a good prev); returns its new name. */
  quarantine(name: string, now?: Date): Promise<string>;
  /**
   * Take the directory for this process: a claim the kernel frees when the process ends (an abstract unix socket named
   * after the directory's device and inode, common/io/claim.ts), so of two daemons starting at once in one network
   * namespace exactly one gets it; then the pid file, which also stops a daemon of another network namespace (a dead
   * owner's file is taken over). When the owner was a
   * daemon that died (kill -9), the commands it started may still run and change links: this waits until they
   * ended (at most 10 s) and resolves with its pid and those still running then; else undefined.
   * Throws ERR_STORE_LOCKED.
   */
  lock(): Promise<{ killed: number; running: number[] } | undefined>;
  /** Give the directory back. */
  unlock(): Promise<void>;
  /** This boot's id (proc(5) boot_id; '' when unreadable): a snapshot records it, restore tells a reboot by it. */
  bootId?(): string;
  /**
   * Append one journal line and, unless `sync` is false, fdatasync it (the file is created, and the directory
   * synced, on first use). Without the sync the line survives the daemon's death (it is in the page cache) but not
   * the machine's; the keeper asks for that only for records a reboot ends anyway (keeper.ts, machineScoped).
   * `written` is called once the line is in the file (a restarted daemon would read it), before the sync.
   */
  appendJournal?(text: string, sync?: boolean, written?: () => void): Promise<void>;
  /**
   * The text of state.journal.prev and of state.journal ('' for a missing file), apart: each is decoded on its own,
   * so a torn line in the rotated file never hides the lines of the current one.
   */
  readJournal?(): Promise<{ prev: string; current: string }>;
  /** Cut state.journal to its first `bytes` bytes (a torn tail found at restore) and sync it. */
  cutJournal?(bytes: number): Promise<void>;
  /**
   * After a snapshot: state.journal becomes state.journal.prev (the lines that
   * lead from state.json.prev to the new snapshot, for a fallback) and a new,
   * empty journal starts.
   */
  rotateJournal?(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This boot's id (proc(5): /proc/sys/kernel/random/boot_id), '' when unreadable. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** When process `pid` started, in clock ticks since boot (proc(5): /proc/<pid>/stat field 22), '' when it is gone. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''; // fields after the command name start at 3
  } catch {
    return '';
  }
}

/** This process's PID namespace (its nsfs inode), '' when unreadable: pids name processes only inside it. */
function pidNamespace(): string {
  try {
    return String(statSync('/proc/self/ns/pid').ino);
  } catch {
    return '';
  }
}

/**
 * The lock's line: `<pid> <start time> <boot id> <pid namespace>`. A pid alone does not name a process for long:
 * after a reboot or a kill -9 the same number can belong to any other process, which would keep the directory
 * locked for good.
 */
function lockLine(): string {
  return `${process.pid} ${startTime(process.pid)} ${bootId()} ${pidNamespace()}\n`;
}

/**
 * Who holds a lock written as `text`: its pid, whether that very process still runs (same boot, same start time; a
 * lock of an older version holds the pid alone, checked as a pid), and whether it ran in this boot (its commands may
 * still run: restore waits for them).
 */
function lockOwner(text: string): { pid: number; alive: boolean; thisBoot: boolean } | undefined {
  const [pidText = '', started, boot, pidNs] = text.trim().split(' ');
  const pid = Number.parseInt(pidText, 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // An older lock (a pid alone), or one written in another PID namespace (a daemon in a container: its pid and start
  // time mean nothing here): only the pid can be checked, as it always was.
  if (started === undefined || boot === undefined || (pidNs !== undefined && pidNs !== pidNamespace())) return { pid, alive: processAlive(pid), thisBoot: true };
  const thisBoot = boot === bootId();
  return { pid, alive: thisBoot && processAlive(pid) && startTime(pid) === started, thisBoot };
}

/**
 * This process's claims of state directories, by claim name. A second store of a directory this process holds (a
 * test's store left open as if its daemon had died) takes the claim over, as it takes over the pid file.
 */
const claims = new Map<string, () => Promise<void>>();

/** Claim `dir` in this network namespace (by its device and inode: any path to it names one claim); returns the claim's name. */
async function claimDir(dir: string): Promise<string> {
  const st = statSync(dir);
  const name = `sandns-state-${st.dev}-${st.ino}`;
  if (!claims.has(name)) claims.set(name, await claimAbstractName(name, (pid) => new StateLockedError(dir, pid)));
  return name;
}

async function releaseClaim(name: string | undefined): Promise<void> {
  const release = name === undefined ? undefined : claims.get(name);
  claims.delete(name ?? '');
  await release?.();
}

async function takeLock(dir: string, path: string): Promise<number | undefined> {
  let dead: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, lockLine(), { flag: 'wx', mode: 0o600 });
      return dead;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = lockOwner((await readIfExists(path)) ?? '');
    if (owner !== undefined && owner.pid !== process.pid && owner.alive) throw new StateLockedError(dir, owner.pid);
    if (owner !== undefined && owner.pid !== process.pid && owner.thisBoot) dead = owner.pid;
    await rm(path, { force: true }); // stale: its owner died (kill -9), or the machine rebooted since
  }
  throw new StateLockedError(dir, 0);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

async function writeDurably(path: string, text: string): Promise<void> {
  const fd = await open(path, 'w', 0o600);
  try {
    await fd.writeFile(text, 'utf8');
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Rethrows any error but ENOENT (a file that is not there is nothing to move). */
function unlessMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** Cut the file at `path` to its first `bytes` bytes, synced. */
async function truncateDurably(path: string, bytes: number): Promise<void> {
  const h = await open(path, 'r+');
  try {
    await h.truncate(bytes);
    await h.datasync();
  } finally {
    await h.close();
  }
}

/** The journal, kept open for appends: each append is one write and one fdatasync. */
function openJournal(dir: string): Pick<Required<StateFiles>, 'appendJournal' | 'readJournal' | 'rotateJournal' | 'cutJournal'> & { closeJournal(): Promise<void> } {
  const path = join(dir, STATE_JOURNAL);
  // The open journal and its size: read once at open, then counted (appends are one at a time, the store's commits),
  // so an append is one write (and a datasync when asked), not a stat first.
  let handle: Promise<{ h: FileHandle; size: number }> | undefined;
  const get = (): Promise<{ h: FileHandle; size: number }> =>
    (handle ??= (async () => {
      const h = await open(path, 'a', 0o600);
      try {
        await fsyncDir(dir); // the file's name is durable before any line in it counts
        return { h, size: (await h.stat()).size };
      } catch (err) {
        await h.close();
        throw err;
      }
    })().catch((err: unknown) => {
      handle = undefined;
      throw err;
    }));
  /** Close the open journal (the next append opens it again). */
  const release = async (): Promise<void> => {
    const journal = handle;
    handle = undefined;
    await (await journal?.catch(() => undefined))?.h.close();
  };
  /** Where a failed append whose own cut failed too must be cut before anything more is appended, else undefined. */
  let cutPending: number | undefined;
  return {
    async appendJournal(text, sync = true, written) {
      const journal = await get();
      if (cutPending !== undefined) {
        // Never a line after the torn bytes of a failed append: it would be read as part of them, and lost (L6).
        await journal.h.truncate(cutPending);
        journal.size = cutPending;
        cutPending = undefined;
      }
      const { h, size } = journal;
      try {
        // write(2) may write part of the line and succeed (a disk filling up): the rest is written, or fails, here.
        // A blocking write: a line reaches the page cache in microseconds, where a trip through libuv's thread pool
        // costs 50-150 µs of scheduling on every create and connect (common/io/in-place.ts); the datasync, which
        // waits for the disk, stays on the pool.
        const buf = Buffer.from(text, 'utf8');
        for (let off = 0; off < buf.length;) off += writeSync(h.fd, buf, off, buf.length - off);
        journal.size = size + buf.length;
        written?.();
        if (sync) await h.datasync();
      } catch (err) {
        // A failed append (ENOSPC after part of the line, EIO) is cut off again: a torn line in the middle would stop
        // the replay there and lose every later line (L6). When even that fails, the store is degraded anyway and
        // its next commit is a snapshot, which supersedes this journal.
        journal.size = size;
        await h.truncate(size).then(() => h.datasync()).catch(() => void (cutPending = size));
        throw err;
      }
      crashPoint('state-written');
    },
    async readJournal() {
      return { prev: (await readIfExists(join(dir, STATE_JOURNAL_PREV))) ?? '', current: (await readIfExists(path)) ?? '' };
    },
    async cutJournal(bytes) {
      await release();
      await truncateDurably(path, bytes);
    },
    closeJournal: release,
    async rotateJournal() {
      await release();
      await rename(path, join(dir, STATE_JOURNAL_PREV)).catch(unlessMissing);
      await fsyncDir(dir);
    },
  };
}

/** The store in `dir` (created 0700 when missing). */
export function openStateFiles(dir: string): StateFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const at = (name: string): string => join(dir, name);
  let claim: string | undefined;
  const journal = openJournal(dir);
  return {
    ...journal,
    dir,
    async readAll() {
      const out: { name: string; text: string }[] = [];
      for (const name of [STATE_FILE, STATE_TMP, STATE_PREV]) {
        const text = await readIfExists(at(name));
        if (text !== undefined) out.push({ name, text });
      }
      return out;
    },
    async write(text) {
      await writeDurably(at(STATE_TMP), text);
      try {
        await rename(at(STATE_FILE), at(STATE_PREV));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await rename(at(STATE_TMP), at(STATE_FILE));
      await fsyncDir(dir);
      crashPoint('state-written');
    },
    async quarantine(name, now = new Date()) {
      const aside = `${name}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
      if (name === STATE_TMP) {
        await rm(at(name), { force: true });
        return '(removed)';
      }
      await rename(at(name), at(aside));
      await fsyncDir(dir);
      return aside;
    },
    async lock() {
      claim = await claimDir(dir);
      const killed = await takeLock(dir, at(STATE_LOCK)).catch(async (err: unknown) => {
        await releaseClaim(claim);
        throw err;
      });
      return killed === undefined ? undefined : { killed, running: await waitForOrphans(killed) };
    },
    bootId,
    async unlock() {
      await journal.closeJournal(); // its descriptor is not left for the garbage collector to close
      if (Number.parseInt((await readIfExists(at(STATE_LOCK))) ?? '', 10) === process.pid) await rm(at(STATE_LOCK), { force: true });
      await releaseClaim(claim);
    },
  };
}
