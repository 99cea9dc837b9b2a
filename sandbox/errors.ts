/**
 * Sandbox errors.
 */
import { SandnsError } from '../common/errors.js';

/** A network namespace could not be created, entered or deleted. */
export class NetnsError extends SandnsError {
  constructor(name: string, problem: string, cause?: unknown) {
    super('ERR_SANDBOX_NETNS', `network namespace ${JSON.stringify(name)}: ${problem}`, 500, {
      cause,
      details: { netns: name },
    });
    this.name = 'NetnsError';
  }
}

/** A namespace of that name exists already: refused, never adopted or deleted (409, L4). */
export class NetnsExistsError extends SandnsError {
  constructor(name: string, cause?: unknown) {
    super('ERR_SANDBOX_NETNS_EXISTS', `a network namespace named ${JSON.stringify(name)} exists already: choose another netnsName, or adopt it with netnsPath`, 409, {
      ...(cause === undefined ? {} : { cause }),
      details: { netns: name },
    });
    this.name = 'NetnsExistsError';
  }
}

/** The 127.0.0.11:53 listeners could not be opened inside a namespace (R1). */
export class SocketAcquireError extends SandnsError {
  constructor(nsPath: string, problem: string, cause?: unknown) {
    super('ERR_SANDBOX_LISTENER', `could not open 127.0.0.11:53 inside ${nsPath}: ${problem}`, 500, {
      cause,
      details: { netns: nsPath },
    });
    this.name = 'SocketAcquireError';
  }
}

