/**
 * M8: the local timer decides whether etcd missed a call's deadline. The gRPC deadline given to the call lies well
 * past it (after an event-loop stall both would fire in the same timer phase, and only the local one can tell a busy
 * loop from a slow etcd), and a gRPC deadline that fires anyway is a DeadlineError too, never a refusal (which would
 * make the store stale at once).
 */
import { describe, expect, it } from 'vitest';
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { DeadlineError, withDeadline } from '../../../../store/cluster/io/etcd-calls.js';

describe('withDeadline (M8)', () => {
  it('the gRPC deadline is five times the local one; a gRPC deadline error is a DeadlineError; other errors pass as they are', async () => {
    let given: Date | undefined;
    const t0 = Date.now();
    await withDeadline(200, async (o) => {
      given = o.deadline;
    });
    expect(given!.getTime() - t0).toBeGreaterThanOrEqual(1_000);
    await expect(withDeadline(200, () => Promise.reject(new GRPCDeadlineExceededError('deadline exceeded')))).rejects.toBeInstanceOf(DeadlineError);
    await expect(withDeadline(200, () => Promise.reject(new GRPCUnavailableError('no connection')))).rejects.toBeInstanceOf(GRPCUnavailableError);
  });

  it('no answer within the local deadline: DeadlineError; an answer in time wins', async () => {
    await expect(withDeadline(50, () => new Promise(() => undefined))).rejects.toBeInstanceOf(DeadlineError);
    await expect(withDeadline(500, () => new Promise((r) => setTimeout(() => r('ok'), 20)))).resolves.toBe('ok');
  });
});
