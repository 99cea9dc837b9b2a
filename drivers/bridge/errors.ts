/**
 * Bridge driver errors.
 */
import { SandnsError } from '../../common/errors.js';

/** Published ports were asked where they cannot be had (an internal network, or no firewall). */
export class PortsUnavailableError extends SandnsError {
  constructor(why: string) {
    super('ERR_PORTS_UNAVAILABLE', `ports cannot be published: ${why}`, 400, { details: { why } });
    this.name = 'PortsUnavailableError';
  }
}

/** Codes defined here (for the README error table test). */
export const BRIDGE_ERROR_CODES = ['ERR_PORTS_UNAVAILABLE'] as const;
