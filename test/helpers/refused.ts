/** Refusals in tests: the typed error a call must fail with, and its code and status. */
import { expect } from 'vitest';
import type { SandnsError } from '../../common/errors.js';

/** The error `p` rejects with; the test fails when it resolves instead. */
export async function refusal(p: Promise<unknown>): Promise<SandnsError> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
  expect(err, 'expected a refusal').toBeDefined();
  return err!;
}

/** The code and HTTP status `p` is refused with. */
export async function refused(p: Promise<unknown>): Promise<{ code: string; status: number }> {
  const err = await refusal(p);
  return { code: err.code, status: err.status };
}
