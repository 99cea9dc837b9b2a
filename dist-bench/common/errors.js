/**
 * Typed errors with stable codes (STYLE G7, spec L1).
 *
 * Every failure a caller can act on is a `SandnsError` subclass carrying a
 * stable `code` (`ERR_<AREA>_<WHAT>`), an optional HTTP `status` class for the
 * API, and the standard `cause`. Tests assert on `code`, never on message text.
 */
/** Base class of every error sandns throws on purpose. */
export class SandnsError extends Error {
    /** Stable machine-readable code. */
    code;
    /** HTTP status class for the API (400, 403, 404, 409, 500 ...). */
    status;
    /** Extra machine-readable details. */
    details;
    constructor(code, message, status = 500, options = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'SandnsError';
        this.code = code;
        this.status = status;
        this.details = options.details;
    }
    /** A plain JSON view, as the API sends it. */
    toJSON() {
        return this.details === undefined
            ? { code: this.code, message: this.message }
            : { code: this.code, message: this.message, details: this.details };
    }
}
/** An option or argument failed validation; the message names the field and the fix. */
export class InvalidOptionError extends SandnsError {
    constructor(field, problem, options = {}) {
        super('ERR_INVALID_OPTION', `invalid option "${field}": ${problem}`, 400, {
            ...options,
            details: { field, ...options.details },
        });
        this.name = 'InvalidOptionError';
    }
}
/** A name is not a valid DNS/host name (H5). */
export class InvalidNameError extends SandnsError {
    constructor(name, problem, options = {}) {
        super('ERR_INVALID_NAME', `invalid name ${JSON.stringify(name)}: ${problem}`, 400, {
            ...options,
            details: { name, ...options.details },
        });
        this.name = 'InvalidNameError';
    }
}
/** An external command (ip, nsenter ...) failed. */
export class ExecError extends SandnsError {
    constructor(argv, stderr, options = {}) {
        const text = stderr.trim() === '' ? 'no error output' : stderr.trim();
        super('ERR_EXEC_FAILED', `command failed: ${argv.join(' ')}: ${text}`, 500, {
            ...options,
            details: { argv, stderr: text, ...options.details },
        });
        this.name = 'ExecError';
    }
}
/** Codes defined in this file (for the README error table test). */
export const COMMON_ERROR_CODES = ['ERR_INVALID_OPTION', 'ERR_INVALID_NAME', 'ERR_EXEC_FAILED'];
/** True when `err` is a SandnsError, optionally with the given code. */
export function isSandnsError(err, code) {
    return err instanceof SandnsError && (code === undefined || err.code === code);
}
//# sourceMappingURL=errors.js.map