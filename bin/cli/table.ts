/**
 * Plain-text tables for people (docker-style: upper-case headers, columns
 * padded with three spaces, no borders) and key/value blocks for inspect.
 */

/** Render rows under headers; missing or empty cells print as "-". */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const cells = rows.map((r) => headers.map((_, i) => {
    const v = r[i];
    return v === undefined || v === '' ? '-' : String(v);
  }));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** Render `Key:  value` lines, keys aligned; undefined or empty values print as "-". */
export function renderFields(fields: readonly (readonly [string, string | number | undefined])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length + 1));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v === undefined || v === '' ? '-' : String(v)}`).join('\n') + '\n';
}

/** Indent every line of a block. */
export function indent(text: string, by = '  '): string {
  return text.split('\n').map((l) => (l === '' ? l : by + l)).join('\n');
}
