/**
 * Overlay driver errors.
 */
import { SandnsError } from '../../common/errors.js';

/**
 * The VXLAN id is taken: by another global network (`network`), or, with
 * `onHost`, by a VXLAN device of someone else's on this host with the same
 * id and UDP port (another overlay, e.g. Calico's vxlan.calico on 4096), which
 * the kernel refuses (EEXIST) when this network's device is made.
 */
export class VniInUseError extends SandnsError {
  constructor(vni: number, network: string, onHost?: { port: number; cause: unknown }) {
    super(
      'ERR_OVERLAY_VNI_IN_USE',
      onHost === undefined
        ? `VXLAN id ${vni} is used by global network ${network}: choose another -o vni=ID or leave it out`
        : `VXLAN id ${vni} on UDP port ${onHost.port} is used by another VXLAN device on this host (not sandns's): recreate network ${network} with another -o vni=ID, or remove that device`,
      409,
      { ...(onHost === undefined ? {} : { cause: onHost.cause }), details: { vni, network, ...(onHost === undefined ? {} : { port: onHost.port, host: true }) } },
    );
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
