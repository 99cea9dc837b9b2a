/**
 * Errors of the persistent store (L3), with their HTTP classes (G7).
 */
import { SandnsError } from '../common/errors.js';

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
