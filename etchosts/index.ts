/**
 * Managed /etc/hosts (H1-H5; as Docker): the public door (G1).
 * Pure rendering and edits live in entries/render/edit; io/ does the file work.
 */
import { addRecords, removeRecords, updateRecord, validateUpdate } from './edit.js';
import { type HostsRecord, validateHostsRecords } from './entries.js';
import { readHostsText, writeHostsText, editHostsText } from './io/hosts-file.js';
import { renderHosts, type RenderHostsOptions } from './render.js';

export { hostsNamesFor, type HostsRecord } from './entries.js';
export type { RenderHostsOptions } from './render.js';

/** Read a hosts file, after every queued write to it. */
export function readHostsFile(path: string): Promise<string> {
  return readHostsText(path);
}

/** Write a hosts file in place (H4): keeps the inode, one write, fsync; created 0644 if missing. */
export function writeHostsFile(path: string, content: string): Promise<void> {
  return writeHostsText(path, content);
}

/** Render (H1, H2) and write a whole hosts file, creating its directory (0755) and file (0644). */
export async function buildHostsFile(path: string, opts: RenderHostsOptions): Promise<void> {
  const content = renderHosts(opts);
  await writeHostsText(path, content);
}

/** Append the records' lines to an existing hosts file (H3 join); validated first (H5). */
export async function addHostsRecords(path: string, recs: readonly HostsRecord[]): Promise<void> {
  const valid = validateHostsRecords(recs);
  if (valid.length === 0) return;
  await editHostsText(path, (text) => addRecords(text, valid));
}

/** Remove the records' lines, matched on IP and exact names (H3 leave); validated first (H5). */
export async function removeHostsRecords(path: string, recs: readonly HostsRecord[]): Promise<void> {
  const valid = validateHostsRecords(recs);
  if (valid.length === 0) return;
  await editHostsText(path, (text) => removeRecords(text, valid));
}

/** Point every line whose first name is `hostname` at `ip` (as Docker); validated first (H5). */
export async function updateHostsRecord(path: string, ip: string, hostname: string): Promise<void> {
  validateUpdate(ip, hostname);
  await editHostsText(path, (text) => updateRecord(text, ip, hostname));
}
