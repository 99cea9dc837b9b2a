/**
 * IPAM public door (L2): the controller allocates addresses and passes them to
 * the driver, as libnetwork does.
 */
export { AddressPool, parseSubnet, subnetsOverlap } from './pool.js';
export { AddressInUseError, PoolExhaustedError } from './errors.js';
