/**
 * Request body checks of the API (G9): each route names the fields it
 * accepts and their JSON types; a wrong or unknown field is an
 * ERR_INVALID_OPTION naming it. Only shapes are checked here; the values'
 * meaning (names, addresses, subnets) is the controller's to check.
 */
import { InvalidOptionError } from '../common/errors.js';

/** A request body: a JSON object. */
export type Body = Record<string, unknown>;

/** Throws ERR_INVALID_OPTION on the first field of `body` that is not in `allowed`. */
export function onlyFields(body: Body, allowed: readonly string[]): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new InvalidOptionError(extra[0]!, `unknown field (known: ${allowed.join(', ')})`);
}

/** A non-empty string field; undefined when absent and not `required`. Throws ERR_INVALID_OPTION. */
export function str(body: Body, key: string, required: true): string;
export function str(body: Body, key: string, required?: false): string | undefined;
export function str(body: Body, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidOptionError(key, 'must be a non-empty string');
  return v;
}

/** A list-of-strings field, or undefined. Throws ERR_INVALID_OPTION. */
export function strs(body: Body, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidOptionError(key, 'must be a list of strings');
  return v as string[];
}

/** A boolean, number or (non-array) object field, or undefined. Throws ERR_INVALID_OPTION. */
export function typed<T>(body: Body, key: string, type: 'boolean' | 'number' | 'object'): T | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== type || v === null || (type === 'object' && Array.isArray(v))) throw new InvalidOptionError(key, `must be a ${type}`);
  return v as T;
}

/** Drop undefined values, so options fit exactOptionalPropertyTypes. */
export function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
