/**
 * Cluster store errors (STYLE G7).
 */
import { SandnsError } from '../../common/errors.js';

/** etcd cannot be reached (or did not answer within the call deadline): global operations fail at once (503). */
export class ClusterUnavailableError extends SandnsError {
  constructor(operation: string, cause?: unknown) {
    super('ERR_CLUSTER_UNAVAILABLE', `cluster store unreachable: cannot ${operation} now (local networks keep working; retry when "sandns status" shows the store synced)`, 503, {
      cause, details: { operation },
    });
    this.name = 'ClusterUnavailableError';
  }
}

/** A global operation was asked of a daemon started without --cluster-store (400). */
export class ClusterNotConfiguredError extends SandnsError {
  constructor(what: string) {
    super('ERR_CLUSTER_NOT_CONFIGURED', `${what} needs a cluster store: start the daemon with --cluster-store and --cluster-advertise`, 400, {
      details: { what },
    });
    this.name = 'ClusterNotConfiguredError';
  }
}

/** The store kept changing under a transaction that was retried (409: retry). */
export class ClusterConflictError extends SandnsError {
  constructor(operation: string) {
    super('ERR_CLUSTER_CONFLICT', `cluster store kept changing during ${operation}: retry`, 409, { details: { operation } });
    this.name = 'ClusterConflictError';
  }
}

/** Codes defined here. */
export const CLUSTER_ERROR_CODES = ['ERR_CLUSTER_UNAVAILABLE', 'ERR_CLUSTER_NOT_CONFIGURED', 'ERR_CLUSTER_CONFLICT'] as const;
