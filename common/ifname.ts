/**
 * Linux interface names, as the kernel takes them (net/core/dev.c
 * dev_valid_name; IFNAMSIZ in include/uapi/linux/if.h): 1-15 bytes, not
 * "." or "..", without "/", ":" or whitespace. sandns also refuses "%",
 * which the kernel reads as a template ("eth%d" becomes eth0, eth1 ... at
 * creation, so the link would not have the name asked for), and control
 * characters (a NUL would cut the name short). Bytes, not characters: "é"
 * is two.
 */

/** Longest interface name in bytes (IFNAMSIZ - 1). */
export const MAX_IFNAME_BYTES = 15;

/** What is wrong with `name` as an interface name, or undefined when the kernel takes it as it is. */
export function ifnameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'is empty';
  if (bytes > MAX_IFNAME_BYTES) return `is ${bytes} bytes long (at most ${MAX_IFNAME_BYTES})`;
  if (name === '.' || name === '..') return 'cannot be "." or ".."';
  // eslint-disable-next-line no-control-regex
  const bad = /[/:%\s\x00-\x1f\x7f]/u.exec(name);
  if (bad !== null) {
    const ch = bad[0];
    const shown = /^[!-~]$/.test(ch) ? `"${ch}"` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `contains ${shown} (no "/", ":", "%", spaces or control characters)`;
  }
  return undefined;
}
