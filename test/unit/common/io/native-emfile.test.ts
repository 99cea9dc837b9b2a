/**
 * A native addon whose first load meets the open-file limit (dlopen needs a
 * descriptor) must not be remembered as missing: that call fails with the
 * cause (which the API answers as 503 ERR_HOST_LIMIT), and the next call,
 * with descriptors back, loads it. Before, the failure was cached and every
 * later sandbox create was ERR_NATIVE_HELPER_MISSING for the life of the
 * daemon. The test lowers its own worker's soft RLIMIT_NOFILE (no root),
 * before this process has loaded the addon, and restores it.
 */
import { describe, expect, it } from 'vitest';
import { fileLimitOf } from '../../../../common/errors.js';
import { requireNativeHelper } from '../../../../common/io/native.js';
import { nofile, withNoDescriptorLeft } from '../../../helpers/fd-limit.js';

describe('native addon at the open-file limit', () => {
  it('L1 a load refused with EMFILE throws with that cause and is tried again; with descriptors back it loads', async () => {
    const { soft } = nofile();
    let refused: unknown;
    await withNoDescriptorLeft(async () => {
      try {
        requireNativeHelper();
      } catch (err) {
        refused = err;
      }
    });
    expect(nofile().soft).toBe(soft);
    expect(refused).toMatchObject({ code: 'ERR_NATIVE_HELPER_MISSING' });
    expect(fileLimitOf(refused)).toEqual({ errno: 'EMFILE', limit: 'RLIMIT_NOFILE' });
    expect(typeof requireNativeHelper().createNetns).toBe('function');
  });
});
