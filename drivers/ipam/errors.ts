/**
 * IPAM errors (L2).
 */
import { SandnsError } from '../../common/errors.js';

/** The subnet or gateway given for a network is not usable. */
export class InvalidSubnetError extends SandnsError {
  constructor(value: string, problem: string) {
    super('ERR_IPAM_INVALID_SUBNET', `invalid subnet or gateway ${JSON.stringify(value)}: ${problem}`, 400, {
      details: { value },
    });
    this.name = 'InvalidSubnetError';
  }
}

/** Every address of the pool is taken. */
export class PoolExhaustedError extends SandnsError {
  constructor(subnet: string) {
    super('ERR_IPAM_POOL_EXHAUSTED', `no free address left in ${subnet}: remove an endpoint or use a larger subnet`, 409, {
      details: { subnet },
    });
    this.name = 'PoolExhaustedError';
  }
}

/** The requested address is already allocated. */
export class AddressInUseError extends SandnsError {
  constructor(address: string, subnet: string) {
    super('ERR_IPAM_ADDRESS_IN_USE', `address ${address} is already in use in ${subnet}`, 409, {
      details: { address, subnet },
    });
    this.name = 'AddressInUseError';
  }
}

/** The requested address is not a usable host address of the subnet. */
export class AddressOutOfRangeError extends SandnsError {
  constructor(address: string, subnet: string, why: string) {
    super('ERR_IPAM_ADDRESS_OUT_OF_RANGE', `address ${address} cannot be used in ${subnet}: ${why}`, 400, {
      details: { address, subnet },
    });
    this.name = 'AddressOutOfRangeError';
  }
}

