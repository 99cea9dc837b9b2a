/**
 * Overlay driver errors.
 */
import { SandnsError } from '../../common/errors.js';

/** The VXLAN id asked for is another global network's. */
export class VniInUseError extends SandnsError {
  constructor(vni: number, network: string) {
    super('ERR_OVERLAY_VNI_IN_USE', `VXLAN id ${vni} is used by global network ${network}: choose another -o vni=ID or leave it out`, 409, {
      details: { vni, network },
    });
    this.name = 'VniInUseError';
  }
}

/** Every VXLAN id of the range is taken. */
export class VniExhaustedError extends SandnsError {
  constructor(first: number, last: number) {
    super('ERR_OVERLAY_VNI_EXHAUSTED', `no free VXLAN id left in ${first}-${last}: delete an overlay network`, 409, { details: { first, last } });
    this.name = 'VniExhaustedError';
  }
}

/** A connect by hand to an overlay network created without --attachable (Docker's "not manually attachable"). */
export class NotAttachableError extends SandnsError {
  constructor(network: string) {
    super('ERR_NETWORK_NOT_ATTACHABLE', `network ${network} is not manually attachable: create it with --attachable (-o attachable=true)`, 403, {
      details: { network },
    });
    this.name = 'NotAttachableError';
  }
}

/** Codes defined here (for the README error table test). */
export const OVERLAY_ERROR_CODES = ['ERR_OVERLAY_VNI_IN_USE', 'ERR_OVERLAY_VNI_EXHAUSTED', 'ERR_NETWORK_NOT_ATTACHABLE'] as const;
