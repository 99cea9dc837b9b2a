/**
 * Running code at a process's open-file limit (RLIMIT_NOFILE), for the
 * host-limit tests: lowering the soft limit needs no root; raising it back
 * needs a process that was started before (at the limit nothing can be
 * spawned, prlimit included).
 */
import { execa } from 'execa';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

/** The soft and hard RLIMIT_NOFILE of `pid` (default this process), from /proc. */
export function nofile(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/).map(Number);
  return { soft: soft!, hard: hard! };
}

/** Set the soft limit of `pid`, keeping the hard one. */
export async function setSoftNofile(pid: number, soft: number): Promise<void> {
  await execa('prlimit', ['--pid', String(pid), `--nofile=${soft}:${nofile(pid).hard}`]);
}

/**
 * The soft limit under which `pid` has exactly `spare` descriptor numbers free: a new descriptor takes the lowest
 * free number and fails with EMFILE when that is at or past the limit, so the limit is the spare-th free number
 * (holes left by closed descriptors count as free). For another process only: in this one, reading /proc/self/fd
 * holds a descriptor of its own.
 */
export function limitLeaving(pid: number, spare: number): number {
  const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  let free = -1;
  for (let fd = 0; ; fd++) {
    if (!used.has(fd) && ++free === spare) return fd;
  }
}

/**
 * Run `fn` in this process with no descriptor to spare (the soft limit at the lowest free number), then put the
 * limit back through a shell started beforehand.
 */
export async function withNoDescriptorLeft<T>(fn: () => Promise<T>): Promise<T> {
  const { soft, hard } = nofile();
  const restorer = execa('sh', ['-c', `read go; prlimit --pid ${process.pid} --nofile=${soft}:${hard}`], { stdin: 'pipe' });
  try {
    const lowest = openSync('/dev/null', 'r');
    closeSync(lowest);
    await execa('prlimit', ['--pid', String(process.pid), `--nofile=${lowest}:${hard}`]);
    return await fn();
  } finally {
    restorer.stdin!.end('go\n');
    await restorer;
  }
}
