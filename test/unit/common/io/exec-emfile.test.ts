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
import { describe, expect, it } from 'vitest';
import { fileLimitOf } from '../../../../common/errors.js';
import { run } from '../../../../common/io/exec.js';
import { nofile, withNoDescriptorLeft } from '../../../helpers/fd-limit.js';

describe('exec at the open-file limit', () => {
  it('L1 a spawn refused with EMFILE rejects with ExecError caused by EMFILE; the process lives; at the limit again it works', async () => {
    const { soft } = nofile();
    const tries = await withNoDescriptorLeft(async () => {
      const out: unknown[] = [];
      for (let i = 0; i < 3; i++) out.push(await run('true', []).then(() => 'ran', (err: unknown) => err));
      // Any orphan 'error' event would be thrown by now (it is emitted on the next tick).
      await new Promise((r) => setTimeout(r, 50));
      return out;
    });
    expect(nofile().soft).toBe(soft);
    for (const err of tries) {
      expect(err).toMatchObject({ code: 'ERR_EXEC_FAILED', cause: { code: 'EMFILE', syscall: 'spawn true' } });
      expect(fileLimitOf(err)).toEqual({ errno: 'EMFILE', limit: 'RLIMIT_NOFILE' });
    }
    await expect(run('true', [])).resolves.toEqual({ stdout: '', stderr: '', exitCode: 0 });
    await expect(run('false', [], { reject: false })).resolves.toMatchObject({ exitCode: 1 });
    await expect(run('/nonexistent/cmd', [], { reject: false })).rejects.toMatchObject({ code: 'ERR_EXEC_FAILED' });
  });
});
