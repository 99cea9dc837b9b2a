/**
 * Logging through pino, structured; loggers are injected, never global (G12).
 */
import { pino, type Logger as PinoLogger } from 'pino';

/** The logger type used across sandns. */
export type Logger = PinoLogger;

/** Options for createLogger. */
export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace or silent. Default info. */
  level?: string;
  /** Where to write (defaults to stderr, so stdout stays clean for CLI output). */
  destination?: NodeJS.WritableStream;
}

/** A root pino logger writing JSON lines to stderr (or the given stream). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const dest = options.destination ?? pino.destination({ fd: 2, sync: false });
  return pino({ level: options.level ?? 'info', base: { app: 'sandns' } }, dest);
}

/** A logger that discards everything (tests, quiet library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A child logger bound to its context (sandbox, network ...). */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child(bindings);
}
