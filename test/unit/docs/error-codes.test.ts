/**
 * G7: every error code sandns can raise is documented in the README's error
 * table, and the table documents nothing that no longer exists.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SOURCE_DIRS = ['common', 'resolver', 'sandbox', 'etchosts', 'resolvconf', 'controller', 'api', 'store', 'drivers', 'cni', 'bin'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function codesInSource(): Set<string> {
  const codes = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z0-9_]+)'/g)) codes.add(m[1]!);
    }
  }
  return codes;
}

function codesInReadme(): Map<string, number> {
  const table = new Map<string, number>();
  for (const m of readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) {
    table.set(m[1]!, Number(m[2]));
  }
  return table;
}

describe('error codes', () => {
  it('L1 every code raised in the source is in the README error table, with an HTTP class', () => {
    const table = codesInReadme();
    const missing = [...codesInSource()].filter((c) => !table.has(c)).sort();
    expect(missing).toEqual([]);
  });

  it('L1 the README documents no code that the source no longer raises', () => {
    const source = codesInSource();
    const stale = [...codesInReadme().keys()].filter((c) => !source.has(c)).sort();
    expect(stale).toEqual([]);
  });
});
