/**
 * The repository stands alone (docs/behaviour.md): every id a source comment
 * cites is defined in docs/behaviour.md, no comment points outside the
 * repository, and the CLI's help and docs/cli.md carry no ids at all.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SOURCE_DIRS = ['common', 'resolver', 'sandbox', 'etchosts', 'resolvconf', 'controller', 'api', 'store', 'drivers', 'cni', 'bin'];
const ID = /\b([RHCLG][0-9]{1,2})\b/g;
/** References that lead outside the repository: private notes, the spec's documents, another checkout. */
const OUTSIDE: readonly [RegExp, string][] = [
  [/(?:^|[\s(`'"])(?:\.\.\/)+shared\b|\bshared\/(?:spec|notes|bench|STYLE)/, 'a path into ../shared'],
  [/\/work\/|\/tmp\/iss\b/, 'an absolute path of a development machine'],
  [/\bgotcha\s*\d/i, 'a numbered "gotcha" of private notes'],
  [/\bnamespace-sockets\b|\becosystem\.md\b|\bdocker-reference\b|\bBEHAVIOUR\.md\b|\bSTYLE\.md\b|\.notes\//, 'a private document'],
  [/\b[0-9]\.[A-J](?:\s+(?:item\s+)?[0-9]+)?\b(?!\.)/, 'a section number of a private reference ("1.D 22")'],
  [/\bDocker\s+[A-Z][0-9]+\b/, 'an id of a private Docker reference ("Docker C14")'],
];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The comments of a TypeScript file, each with its line number (strings are not comments). */
function comments(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const re = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g;
  for (const m of text.matchAll(re)) {
    if (!m[0].startsWith('/')) continue;
    const start = text.slice(0, m.index).split('\n').length;
    m[0].split('\n').forEach((l, i) => out.push({ line: start + i, text: l }));
  }
  return out;
}

function definedIds(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'behaviour.md'), 'utf8');
  return new Set([...doc.matchAll(/^- \*\*([A-Z][0-9]{1,2})\b/gm)].map((m) => m[1]!));
}

const sources = SOURCE_DIRS.flatMap((d) => files(join(ROOT, d)));

describe('comments stand on their own (docs/behaviour.md)', () => {
  it('G15 every id cited in a source comment is defined in docs/behaviour.md', () => {
    const ids = definedIds();
    expect(ids.size).toBeGreaterThan(40);
    const bad: string[] = [];
    for (const f of sources) {
      for (const c of comments(readFileSync(f, 'utf8'))) {
        for (const m of c.text.matchAll(ID)) if (!ids.has(m[1]!)) bad.push(`${relative(ROOT, f)}:${c.line} ${m[1]}: ${c.text.trim()}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('G15 no source comment points outside the repository', () => {
    const bad: string[] = [];
    for (const f of sources) {
      for (const c of comments(readFileSync(f, 'utf8'))) {
        for (const [re, what] of OUTSIDE) if (re.test(c.text)) bad.push(`${relative(ROOT, f)}:${c.line} ${what}: ${c.text.trim()}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('G15 the CLI help and docs/cli.md carry no ids', () => {
    const bad: string[] = [];
    const cli = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    for (const m of cli.matchAll(ID)) bad.push(`docs/cli.md: ${m[1]}`);
    for (const f of files(join(ROOT, 'bin', 'cli'))) {
      const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
      for (const m of text.matchAll(/(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
        for (const id of m[2]!.matchAll(ID)) bad.push(`${relative(ROOT, f)}: ${id[1]} in ${m[0].slice(0, 80)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('G15 the check itself finds what it must', () => {
    const c = comments("const s = 'R99 not a comment'; // R99 and ../shared/notes/x.md\n/* gotcha 3, Docker C14, 1.D 22 */");
    expect(c.map((x) => x.text)).toEqual(['// R99 and ../shared/notes/x.md', '/* gotcha 3, Docker C14, 1.D 22 */']);
    const hits = (t: string): string[] => OUTSIDE.filter(([re]) => re.test(t)).map(([, w]) => w);
    expect(hits('see ../shared/notes/x.md')).toHaveLength(1);
    expect(hits('as Docker 1.D 22, gotcha 3')).toHaveLength(2);
    expect(hits('RFC 1035 §4.1.2 and RFC 6891 §6.1.3, v1.2.3')).toEqual([]);
  });
});
