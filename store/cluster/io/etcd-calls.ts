/**
 * Thin etcd3 wrapper: the client (hosts always an array: one comma string makes
 * etcd3 hang), and every call bounded by a deadline, because the client itself
 * never gives up (it waits out elections and dead members).
 */
import { createRequire } from 'node:module';
import type { Etcd3, IOptions } from 'etcd3';

/**
 * The `etcd3` package, loaded on first use: it pulls in gRPC and protobuf (a
 * few hundred milliseconds of start-up), which a daemon without a cluster
 * store, and every restart of one, should not pay.
 */
function etcd3(): typeof import('etcd3') {
  return createRequire(import.meta.url)('etcd3') as typeof import('etcd3');
}

/** `cockatiel` (etcd3's fault handling), loaded with it, for the same reason. */
function cockatiel(): typeof import('cockatiel') {
  return createRequire(import.meta.url)('cockatiel') as typeof import('cockatiel');
}

/** The client for `endpoints`. */
export function createEtcdClient(endpoints: readonly string[], credentials?: IOptions['credentials']): Etcd3 {
  const { Etcd3: Client, isRecoverableError } = etcd3();
  const { circuitBreaker, ConsecutiveBreaker, handleWhen } = cockatiel();
  return new Client({
    hosts: [...endpoints],
    dialTimeout: 1_000,
    // etcd3's default breaker keeps a failed member out for 5 s; a member back
    // from a restart or partition is tried again after 500 ms instead.
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
    },
    ...(credentials ? { credentials } : {}),
  });
}

/** Thrown when a call outlives its deadline. */
export class DeadlineError extends Error {
  constructor(ms: number) {
    super(`etcd did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * Run `fn` with a local timer of `ms` and a gRPC deadline well past it (the call is cancelled in the end); a late
 * result is dropped. The local timer decides: it tells a busy event loop from a slow etcd (below), which the gRPC
 * deadline, firing in the same timer phase after a stall, cannot; a gRPC deadline is a DeadlineError all the same.
 */
export function withDeadline<T>(ms: number, fn: (options: { deadline: Date }) => Promise<T>): Promise<T> {
  const deadline = new Date(Date.now() + ms * 5);
  return new Promise<T>((resolve, reject) => {
    // A deadline that fired late measured a busy event loop, not etcd: it is re-armed (up to 3 times).
    // The rejection waits one turn (setImmediate): an answer that arrived while the loop was busy is read first.
    let rearms = 0;
    const arm = (): NodeJS.Timeout => {
      const armedAt = performance.now();
      return setTimeout(() => {
        if (performance.now() - armedAt > ms + 250 && rearms++ < 3) {
          timer = arm();
          return;
        }
        setImmediate(() => reject(new DeadlineError(ms)));
      }, ms);
    };
    let timer = arm();
    fn({ deadline }).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (err instanceof etcd3().GRPCDeadlineExceededError) reject(new DeadlineError(ms));
        else reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
