/**
 * The name rule of networks and sandboxes (Docker's: a letter or digit, then
 * up to 63 letters, digits, `_`, `.` or `-`), shared by the controller, which
 * enforces it, and the CLI, which checks names before they go into a path.
 */

/** 1-64 characters of `[a-zA-Z0-9_.-]`, starting with a letter or digit. */
export const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** What OBJECT_NAME asks for, in words (for error messages). */
export const OBJECT_NAME_RULE = 'must be 1-64 characters of letters, digits, "_", "." or "-", starting with a letter or digit';

/** True when `value` is a valid network or sandbox name. */
export function isObjectName(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_NAME.test(value);
}
