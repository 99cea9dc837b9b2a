/**
 * Deferred records on disk: one JSON file per sandbox and interface in the
 * `deferred/` directory beside the API socket, written atomically
 * (temporary file, then rename) so the daemon never reads half a record.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeferredStore } from '../del.js';
import { deferredDirOf, parseDeferred, type DeferredRecord } from '../pending.js';

/** Every parsable record of a directory, with its key (file name without .json); unreadable files are skipped. */
export async function readDeferredDir(dir: string): Promise<{ key: string; record: DeferredRecord }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: { key: string; record: DeferredRecord }[] = [];
  for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
    const record = parseDeferred(await readFile(join(dir, n), 'utf8').catch(() => ''));
    if (record !== undefined) out.push({ key: n.slice(0, -'.json'.length), record });
  }
  return out;
}

/** The store beside `socket`. */
export function deferredStoreFor(socket: string): DeferredStore & { readonly dir: string } {
  const dir = deferredDirOf(socket);
  return {
    dir,
    async listFor(sandbox) {
      return (await readDeferredDir(dir)).filter((r) => r.record.sandbox === sandbox);
    },
    async write(key, record) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.${key}.${process.pid}.tmp`);
      await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, join(dir, `${key}.json`));
    },
    async remove(key) {
      await rm(join(dir, `${key}.json`), { force: true });
    },
  };
}
