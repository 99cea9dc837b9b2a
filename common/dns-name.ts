/**
 * DNS and host name helpers shared by the resolver and the managed files.
 */
import { InvalidNameError } from './errors.js';

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Lowercase a name and drop one trailing dot (R3). */
export function normalizeName(name: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}

/**
 * Why `name` is not a valid host name, or undefined when it is (RFC 1123
 * labels, at most 253 characters; '_' tolerated as container runtimes do).
 * Rejecting anything else keeps newline, tab, space and '#' out of files (H5).
 */
export function hostnameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length > 253) return 'it is longer than 253 characters';
  for (const label of bare.split('.')) {
    if (label.length === 0) return 'it has an empty label';
    if (Buffer.byteLength(label) > 63) return `label "${label.slice(0, 16)}..." is longer than 63 bytes`;
    if (!LABEL.test(label)) {
      return `label ${JSON.stringify(label)} may hold only letters, digits, '-' and '_', and may not start or end with '-'`;
    }
  }
  return undefined;
}

/** True when `name` is a valid host name (see hostnameProblem). */
export function isValidHostname(name: string): boolean {
  return hostnameProblem(name) === undefined;
}

/** Throw InvalidNameError (ERR_INVALID_NAME) unless `name` is a valid host name. */
export function assertValidHostname(name: string, what = 'name'): string {
  const problem = hostnameProblem(name);
  if (problem !== undefined) throw new InvalidNameError(name, `${what}: ${problem}`);
  return name;
}
