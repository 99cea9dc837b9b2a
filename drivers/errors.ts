/**
 * Driver errors shared by every driver (G7).
 */
import { SandnsError } from '../common/errors.js';

/**
 * A kernel object a driver would create exists already (409): it is refused
 * up front and never touched, because sandns deletes only what it made
 * (L4). The message names the object and the fix.
 */
export class LinkExistsError extends SandnsError {
  constructor(kind: 'bridge' | 'veth' | 'vxlan', name: string, cause?: unknown) {
    super('ERR_LINK_EXISTS', `a network interface named ${name} exists already (${kind}): choose another name, or remove it first`, 409, {
      ...(cause === undefined ? {} : { cause }),
      details: { link: name, kind },
    });
    this.name = 'LinkExistsError';
  }
}
