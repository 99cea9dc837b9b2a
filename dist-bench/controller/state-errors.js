/**
 * Errors of persistence (L3) and of late external keys (OCI hook), with
 * their HTTP classes (G7). To be merged into errors.ts and the README table.
 */
import { SandnsError } from '../common/errors.js';
/** Codes defined here (for the README error table test). */
export const STATE_ERROR_CODES = [
    'ERR_STORE_CORRUPT',
    'ERR_STORE_VERSION',
    'ERR_STORE_NOT_RESTORED',
    'ERR_STORE_LOCKED',
    'ERR_SANDBOX_NOT_EXTERNAL',
    'ERR_SANDBOX_KEY_SET',
];
/** A state file is torn, garbage, fails its checksum or has the wrong shape. */
export class StateCorruptError extends SandnsError {
    constructor(problem, cause) {
        super('ERR_STORE_CORRUPT', `state file unusable: ${problem}`, 500, { cause });
        this.name = 'StateCorruptError';
    }
}
/** The state was written by a newer sandns: refuse to start rather than overwrite it. */
export class StateVersionError extends SandnsError {
    constructor(found, supported) {
        super('ERR_STORE_VERSION', `state file has schema version ${found}; this sandns reads up to ${supported}: upgrade sandns or move the state directory aside`, 500, {
            details: { found, supported },
        });
        this.name = 'StateVersionError';
    }
}
/** restore() was called twice, or after a change. */
export class StateNotRestorableError extends SandnsError {
    constructor(problem) {
        super('ERR_STORE_NOT_RESTORED', `cannot restore: ${problem}`, 500);
        this.name = 'StateNotRestorableError';
    }
}
/** Another live process uses the state directory. */
export class StateLockedError extends SandnsError {
    constructor(dir, pid) {
        super('ERR_STORE_LOCKED', `state directory ${dir} is in use by process ${pid} (another sandns daemon?): stop it or give another --state-dir`, 409, {
            details: { stateDir: dir, pid },
        });
        this.name = 'StateLockedError';
    }
}
/** The sandbox's key is not set late: it was created with its namespace (400). */
export class SandboxNotExternalError extends SandnsError {
    constructor(sandbox) {
        super('ERR_SANDBOX_NOT_EXTERNAL', `sandbox ${sandbox} was not created with --external: its namespace cannot be set or released`, 400, {
            details: { sandbox },
        });
        this.name = 'SandboxNotExternalError';
    }
}
/** The sandbox has a key already (409). */
export class SandboxKeySetError extends SandnsError {
    constructor(sandbox, path) {
        super('ERR_SANDBOX_KEY_SET', `sandbox ${sandbox} is attached to ${path} already: release it first`, 409, {
            details: { sandbox, netnsPath: path },
        });
        this.name = 'SandboxKeySetError';
    }
}
//# sourceMappingURL=state-errors.js.map