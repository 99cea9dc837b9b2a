/**
 * CNI types (CNI spec 1.0.0 "Result Types"; 0.4.0 and 0.3.x result shapes),
 * the versions this plugin speaks and the spec's well-known error codes.
 */

/** Versions whose configs and results sandns-cni accepts (answered by VERSION). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** A supported cniVersion. */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The version this plugin prefers (the VERSION answer's cniVersion). */
export const CURRENT_VERSION: CniVersion = '1.0.0';

/** Error codes of CNI spec 1.0.0 "Error" (1–99 are the spec's; 100+ the plugin's). */
export const CNI_CODE = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in network configuration. */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist. */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables (CNI_COMMAND, CNI_CONTAINERID ...). */
  INVALID_ENV: 4,
  /** I/O failure (stdin unreadable ...). */
  IO_FAILURE: 5,
  /** Failed to decode content (stdin is not JSON ...). */
  DECODE_FAILURE: 6,
  /** Invalid network config. */
  INVALID_NETWORK_CONFIG: 7,
  /** Try again later (a transient condition: the daemon is not reachable). */
  TRY_AGAIN_LATER: 11,
  /** sandns-specific: the daemon refused or failed the operation. */
  DAEMON_FAILED: 100,
  /** sandns-specific: CHECK found a difference between the container and what sandns holds. */
  CHECK_FAILED: 101,
  /** sandns-specific: a host port, an address or a subnet the request needs is taken, exhausted or cannot be had. */
  RESOURCE_UNAVAILABLE: 102,
  /** sandns-specific: the daemon refused the request for a reason other than invalid values (4xx: a name, interface or link taken; something not found). */
  DAEMON_REFUSED: 103,
} as const;

/** A CNI interface entry (spec "interfaces"). */
export interface CniInterface {
  name: string;
  mac?: string;
  /** Namespace path for interfaces inside a container; absent for host interfaces. */
  sandbox?: string;
}

/** A CNI ip entry in the 1.0.0 shape (0.3.x/0.4.0 add `version: "4"|"6"`). */
export interface CniIpConfig {
  /** Address with prefix length, e.g. 10.89.7.2/24. */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

/** A CNI route entry. */
export interface CniRoute {
  dst: string;
  gw?: string;
}

/** The DNS part of a result (spec "dns"). */
export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A CNI result in the 1.0.0 shape (other versions are converted at the edges). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** A CNI error result (spec "Error"), written on stdout with a non-zero exit. */
export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The CNI operations (spec "Parameters: CNI_COMMAND"). */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
