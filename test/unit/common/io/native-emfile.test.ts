/**
 * A native addon whose first load meets the open-file limit (dlopen needs a
 * descriptor) must not be remembered as missing: that call fails with the
 * cause (which the API answers as 503 ERR_HOST_LIMIT), and the next call,
 * with descriptors back, loads it. Before, the failure was cached and every
 * later sandbox create was ERR_NATIVE_HELPER_MISSING for the life of the
 * daemon. The test lowers its own worker's soft RLIMIT_NOFILE (no root),
 * before this process has loaded the addon, and restores it.
 */
import { execa } from 'execa';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileLimitOf } from '../../../../common/errors.js';
import { requireNativeHelper } from '../../../../common/io/native.js';

function nofile(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/).map(Number);
  return { soft: soft!, hard: hard! };
}

describe('native addon at the open-file limit', () => {
  it('L1 a load refused with EMFILE throws with that cause and is tried again; with descriptors back it loads', async () => {
    const { soft, hard } = nofile();
    // At the limit nothing can be spawned: a shell started now restores the limit when told.
    const restorer = execa('sh', ['-c', `read go; prlimit --pid ${process.pid} --nofile=${soft}:${hard}`], { stdin: 'pipe' });
    let refused: unknown;
    try {
      // The lowest free descriptor number: with the limit there, the next open fails (EMFILE).
      const lowest = openSync('/dev/null', 'r');
      closeSync(lowest);
      await execa('prlimit', ['--pid', String(process.pid), `--nofile=${lowest}:${hard}`]);
      try {
        requireNativeHelper();
      } catch (err) {
        refused = err;
      }
    } finally {
      restorer.stdin!.end('go\n');
      await restorer;
    }
    expect(nofile().soft).toBe(soft);
    expect(refused).toMatchObject({ code: 'ERR_NATIVE_HELPER_MISSING' });
    expect(fileLimitOf(refused)).toEqual({ errno: 'EMFILE', limit: 'RLIMIT_NOFILE' });
    expect(typeof requireNativeHelper().createNetns).toBe('function');
  });
});
