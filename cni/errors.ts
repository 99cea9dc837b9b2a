/**
 * CNI errors (G7): each carries a stable sandns `code` and the CNI spec's
 * numeric code (`cniCode`), which is what the runtime sees on stdout.
 */
import { SandnsError } from '../common/errors.js';
import { CNI_CODE } from './spec.js';

/** Codes defined here (for the README error table test). */
export const CNI_ERROR_CODES = [
  'ERR_CNI_VERSION', 'ERR_CNI_ENV', 'ERR_CNI_DECODE', 'ERR_CNI_CONFIG', 'ERR_CNI_NETWORK_MISMATCH',
  'ERR_CNI_DAEMON_UNREACHABLE', 'ERR_CNI_DAEMON', 'ERR_CNI_CHECK', 'ERR_CNI_UNSUPPORTED',
] as const;

/** Base of every CNI error: `cniCode` is the spec's code, `details` the text the runtime shows after the message. */
export class CniError extends SandnsError {
  readonly cniCode: number;
  readonly cniDetails: string | undefined;
  constructor(code: (typeof CNI_ERROR_CODES)[number], cniCode: number, message: string, cniDetails?: string, cause?: unknown) {
    super(code, message, cniCode === CNI_CODE.TRY_AGAIN_LATER ? 503 : 400, cause === undefined ? {} : { cause });
    this.name = 'CniError';
    this.cniCode = cniCode;
    this.cniDetails = cniDetails;
  }
}

/** The config's cniVersion is not one this plugin speaks (code 1). */
export class CniVersionError extends CniError {
  constructor(version: string, supported: readonly string[], what = 'config') {
    super('ERR_CNI_VERSION', CNI_CODE.INCOMPATIBLE_VERSION, 'incompatible CNI versions',
      `${what} is ${JSON.stringify(version)}, plugin supports ${JSON.stringify(supported)}`);
  }
}

/** A required CNI_* variable is missing or malformed (code 4). */
export class CniEnvError extends CniError {
  constructor(variable: string, problem: string) {
    super('ERR_CNI_ENV', CNI_CODE.INVALID_ENV, `invalid environment variable ${variable}: ${problem}`);
  }
}

/** stdin is not a JSON object (code 6). */
export class CniDecodeError extends CniError {
  constructor(problem: string) {
    super('ERR_CNI_DECODE', CNI_CODE.DECODE_FAILURE, `cannot decode the network configuration on stdin: ${problem}`);
  }
}

/** A key of the network configuration is wrong (code 7); the message names it and the fix. */
export class CniConfigError extends CniError {
  constructor(key: string, problem: string) {
    super('ERR_CNI_CONFIG', CNI_CODE.INVALID_NETWORK_CONFIG, `invalid network configuration key "${key}": ${problem}`);
  }
}

/** The sandns network exists with settings the config contradicts (code 7). */
export class CniNetworkMismatchError extends CniError {
  constructor(network: string, differences: readonly string[]) {
    super('ERR_CNI_NETWORK_MISMATCH', CNI_CODE.INVALID_NETWORK_CONFIG,
      `sandns network "${network}" exists with other settings than this configuration`,
      `${differences.join('; ')} (change the configuration to match, or remove the network with: sandns network rm ${network})`);
  }
}

/** The daemon's socket cannot be reached (code 11): the message says how to start it. */
export class CniDaemonUnreachableError extends CniError {
  constructor(socket: string, reason: string, cause?: unknown) {
    super('ERR_CNI_DAEMON_UNREACHABLE', CNI_CODE.TRY_AGAIN_LATER, `cannot reach the sandns daemon at ${socket}: ${reason}`,
      `start it with: sandns --socket ${socket} daemon (or set "socket" in the plugin configuration to where it listens)`, cause);
  }
}

/** The daemon refused or failed an operation; `cniCode` as daemon.ts cniCodeOf maps the answer (7, 11, 100, 102 or 103). */
export class CniDaemonError extends CniError {
  readonly apiCode: string;
  readonly httpStatus: number;
  constructor(operation: string, httpStatus: number, apiCode: string, apiMessage: string, cniCode: number = CNI_CODE.DAEMON_FAILED) {
    super('ERR_CNI_DAEMON', cniCode, `sandns daemon: ${operation} failed`, `${apiCode}: ${apiMessage}`);
    this.apiCode = apiCode;
    this.httpStatus = httpStatus;
  }
}

/** CHECK found a difference (code 101); the message names it. */
export class CniCheckError extends CniError {
  constructor(difference: string) {
    super('ERR_CNI_CHECK', CNI_CODE.CHECK_FAILED, `sandns CHECK failed: ${difference}`);
  }
}

/** A command or feature this configuration cannot do (code 2 for fields, 4 for commands). */
export class CniUnsupportedError extends CniError {
  constructor(what: string, cniCode: number = CNI_CODE.UNSUPPORTED_FIELD, details?: string) {
    super('ERR_CNI_UNSUPPORTED', cniCode, what, details);
  }
}
