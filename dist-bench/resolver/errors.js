/**
 * Resolver errors with stable codes (STYLE G7). Bad bytes from the network
 * never become these: accept.ts turns them into a drop or an rcode (R2, G8).
 */
import { SandnsError } from '../common/errors.js';
/** Codes defined in this folder (for the README error table test). */
export const RESOLVER_ERROR_CODES = [
    'ERR_RESOLVER_INVALID_RECORD',
    'ERR_RESOLVER_ENCODE',
    'ERR_RESOLVER_ALREADY_SERVING',
];
/** An endpoint record given to a RecordTable is unusable (bad id, name, address or port). */
export class InvalidRecordError extends SandnsError {
    constructor(field, problem, options = {}) {
        super('ERR_RESOLVER_INVALID_RECORD', `invalid endpoint record: ${field} ${problem}`, 400, {
            ...options,
            details: { field, ...options.details },
        });
        this.name = 'InvalidRecordError';
    }
}
/** A reply cannot be put on the wire (e.g. a 64-byte label, moby#46928); the pipeline answers SERVFAIL. */
export class EncodeError extends SandnsError {
    constructor(name, problem) {
        super('ERR_RESOLVER_ENCODE', `cannot encode name ${JSON.stringify(name)}: ${problem}`, 500, {
            details: { name },
        });
        this.name = 'EncodeError';
    }
}
/** serve() was called on a resolver that already serves sockets. */
export class AlreadyServingError extends SandnsError {
    constructor(sandbox) {
        super('ERR_RESOLVER_ALREADY_SERVING', `resolver of sandbox ${sandbox} already serves sockets`, 409, {
            details: { sandbox },
        });
        this.name = 'AlreadyServingError';
    }
}
//# sourceMappingURL=errors.js.map