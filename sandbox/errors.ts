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

/**
 * 127.0.0.11:53 is taken inside the namespace (409): another DNS server
 * (dnsmasq, coredns ...) listens there, on that address or on 0.0.0.0:53,
 * in a namespace the sandbox adopted (netnsPath, an OCI hook or CNI
 * runtime's). Nothing of the sandbox's is left.
 */
export class ListenerInUseError extends SandnsError {
  constructor(nsPath: string, cause?: unknown) {
    super(
      'ERR_SANDBOX_LISTENER_IN_USE',
      `127.0.0.11:53 is in use inside ${nsPath}: another process listens there (or on port 53 of every address); stop it, or give the sandbox a namespace without a DNS server of its own`,
      409,
      { cause, details: { netns: nsPath } },
    );
    this.name = 'ListenerInUseError';
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

