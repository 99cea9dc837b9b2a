/**
 * Errors of the persistent store (L3), with their HTTP classes (G7).
 */
import { fileLimitOf, SandnsError } from '../common/errors.js';

/** A state file is torn, garbage, fails its checksum or has the wrong shape. */
export class StateCorruptError extends SandnsError {
  constructor(problem: string, cause?: unknown) {
    super('ERR_STORE_CORRUPT', `state file unusable: ${problem}`, 500, { cause });
    this.name = 'StateCorruptError';
  }
}

/** The state was written by a newer sandns: refuse to start rather than overwrite it. */
export class StateVersionError extends SandnsError {
  constructor(found: number, supported: number) {
    super('ERR_STORE_VERSION', `state file has schema version ${found}; this sandns reads up to ${supported}: upgrade sandns or move the state directory aside`, 500, {
      details: { found, supported },
    });
    this.name = 'StateVersionError';
  }
}

/** restore() was called twice, or after a change. */
export class StateNotRestorableError extends SandnsError {
  constructor(problem: string) {
    super('ERR_STORE_NOT_RESTORED', `cannot restore: ${problem}`, 500);
    this.name = 'StateNotRestorableError';
  }
}

/** Another live process uses the state directory. */
export class StateLockedError extends SandnsError {
  constructor(dir: string, pid: number) {
    super('ERR_STORE_LOCKED', `state directory ${dir} is in use by process ${pid} (another sandns daemon?): stop it or give another --state-dir`, 409, {
      details: { stateDir: dir, pid },
    });
    this.name = 'StateLockedError';
  }
}

/**
 * What the failing write said (ENOSPC, EIO, EROFS ...), for the message and the details, and the fix: out of file
 * descriptors (EMFILE, ENFILE) is a limit to raise, not storage to repair.
 */
function describeCause(cause: unknown): { errno: string; text: string; fix: string; limit: boolean } {
  const e = cause as NodeJS.ErrnoException | undefined;
  const errno = typeof e?.code === 'string' ? e.code : 'EIO';
  const found = fileLimitOf(cause);
  const limit = found !== undefined;
  const fix = found === undefined
    ? 'free space or fix the file system'
    : found.limit === 'fs.file-max'
      ? 'raise the host\'s open-file limit (sysctl fs.file-max) or stop other processes'
      : "raise the daemon's open-file limit (ulimit -n, or the service manager's LimitNOFILE) or free descriptors";
  return { errno, text: e instanceof Error ? e.message : String(cause), fix, limit };
}

/**
 * The state could not be written (L6): the change this answer is about is not saved. `outcome` says what became of
 * it (undone, or done and finished by its write-ahead record at a restart). 507: storage failed, not the request;
 * 503 when the daemon was out of file descriptors (a host limit).
 */
export class StateWriteError extends SandnsError {
  constructor(dir: string, cause: unknown, outcome = 'the change is in memory only until a write succeeds') {
    const { errno, text, fix, limit } = describeCause(cause);
    super('ERR_STORE_WRITE_FAILED', `cannot save the state in ${dir} (${text}): ${outcome}; sandns refuses changes until the state can be written again (it retries every second): ${fix}`, limit ? 503 : 507, {
      cause, details: { stateDir: dir, errno },
    });
    this.name = 'StateWriteError';
  }

  /** The same failure, saying what became of the change (the controller knows; the store does not). */
  withOutcome(outcome: string): StateWriteError {
    return new StateWriteError(String(this.details?.stateDir ?? ''), this.cause, outcome);
  }
}

/** A mutation while the last state write failed and none succeeded since (L6): refused, nothing changed. */
export class StoreDegradedError extends SandnsError {
  constructor(dir: string, cause: unknown) {
    const { errno, text, fix } = describeCause(cause);
    super('ERR_STORE_DEGRADED', `the state in ${dir} cannot be written (${text}): sandns refuses changes until a write succeeds (it retries every second); nothing was changed: ${fix}, then retry`, 503, {
      cause, details: { stateDir: dir, errno },
    });
    this.name = 'StoreDegradedError';
  }
}
