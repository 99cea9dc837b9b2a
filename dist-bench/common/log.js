/**
 * Logging through pino, structured; loggers are injected, never global (G12).
 */
import { pino } from 'pino';
/** A root pino logger writing JSON lines to stderr (or the given stream). */
export function createLogger(options = {}) {
    const dest = options.destination ?? pino.destination({ fd: 2, sync: false });
    return pino({ level: options.level ?? 'info', base: { app: 'sandns' } }, dest);
}
/** A logger that discards everything (tests, quiet library use). */
export function silentLogger() {
    return pino({ level: 'silent' });
}
/** A child logger bound to its context (sandbox, network ...). */
export function childLogger(logger, bindings) {
    return logger.child(bindings);
}
//# sourceMappingURL=log.js.map