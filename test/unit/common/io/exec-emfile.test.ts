/**
 * run() at the process's open-file limit: Node's spawn() answers EMFILE by
 * emitting 'error' on the next tick with no stdio set up, and execa 9 fails
 * on the missing stdio before it listens, so the event used to have no
 * listener and end the process (the daemon died running nft at its limit).
 * run() must reject with ExecError whose cause is the spawn's EMFILE, which
 * the API answers as 503 ERR_HOST_LIMIT, and the process must live on. The
 * test lowers its own worker's soft RLIMIT_NOFILE (prlimit, no root needed)
 * and restores it.
 */
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileLimitOf } from '../../../../common/errors.js';
import { run } from '../../../../common/io/exec.js';

function softNofile(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/).map(Number);
  return { soft: soft!, hard: hard! };
}

describe('exec at the open-file limit', () => {
  it('L1 a spawn refused with EMFILE rejects with ExecError caused by EMFILE; the process lives; at the limit again it works', async () => {
    const { soft, hard } = softNofile();
    // At the limit nothing can be spawned, prlimit included: a shell started now restores the limit when told.
    const restorer = execa('sh', ['-c', `read go; prlimit --pid ${process.pid} --nofile=${soft}:${hard}`], { stdin: 'pipe' });
    const tries: unknown[] = [];
    try {
      await execa('prlimit', ['--pid', String(process.pid), `--nofile=${readdirSync('/proc/self/fd').length}:${hard}`]);
      for (let i = 0; i < 3; i++) tries.push(await run('true', []).then(() => 'ran', (err: unknown) => err));
      // Any orphan 'error' event would be thrown by now (it is emitted on the next tick).
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      restorer.stdin!.end('go\n');
      await restorer;
    }
    expect(softNofile().soft).toBe(soft);
    for (const err of tries) {
      expect(err).toMatchObject({ code: 'ERR_EXEC_FAILED', cause: { code: 'EMFILE', syscall: 'spawn true' } });
      expect(fileLimitOf(err)).toEqual({ errno: 'EMFILE', limit: 'RLIMIT_NOFILE' });
    }
    await expect(run('true', [])).resolves.toEqual({ stdout: '', stderr: '', exitCode: 0 });
    await expect(run('false', [], { reject: false })).resolves.toMatchObject({ exitCode: 1 });
    await expect(run('/nonexistent/cmd', [], { reject: false })).rejects.toMatchObject({ code: 'ERR_EXEC_FAILED' });
  });
});
