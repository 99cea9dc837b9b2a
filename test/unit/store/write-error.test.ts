/**
 * L6 with a host limit: a state write refused for lack of file descriptors
 * (EMFILE, ENFILE) is still ERR_STORE_WRITE_FAILED (the change is not
 * saved; degraded mode until a retry succeeds), but 503 and a fix that names
 * the limit, not 507 and "free space"; a full disk stays 507.
 */
import { describe, expect, it } from 'vitest';
import { StateWriteError, StoreDegradedError } from '../../../store/errors.js';

const emfile = Object.assign(new Error("EMFILE: too many open files, open '/var/lib/sandns/state.json.tmp'"), { code: 'EMFILE', errno: -24 });
const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

describe('state write errors', () => {
  it('L6 EMFILE: 503 with the open-file limit to raise; ENOSPC: 507, free space', () => {
    const limited = new StateWriteError('/var/lib/sandns', emfile, 'the connect was undone');
    expect(limited).toMatchObject({ code: 'ERR_STORE_WRITE_FAILED', status: 503, details: { errno: 'EMFILE' } });
    expect(limited.message).toMatch(/the connect was undone; .*raise the daemon's open-file limit \(ulimit -n/);
    expect(limited.withOutcome('x').status).toBe(503);
    const full = new StateWriteError('/var/lib/sandns', enospc);
    expect(full).toMatchObject({ code: 'ERR_STORE_WRITE_FAILED', status: 507, details: { errno: 'ENOSPC' } });
    expect(full.message).toMatch(/free space or fix the file system$/);
    expect(new StoreDegradedError('/var/lib/sandns', emfile).message).toMatch(/raise the daemon's open-file limit .*, then retry$/);
    expect(new StoreDegradedError('/var/lib/sandns', enospc).message).toMatch(/free space or fix the file system, then retry$/);
  });
});
