/**
 * Summarises a V8 .cpuprofile (node --cpu-prof, or bench/server.ts
 * --cpu-profile): self time per function, then per area (sandns code by
 * folder, node internals, GC, idle), so "where the time goes" is one table.
 *
 *   node dist-bench/bench/prof-top.js FILE.cpuprofile [top=30]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: prof-top.js FILE.cpuprofile [top]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(topArg ?? 30);

const byId = new Map<number, ProfileNode>(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node: each sample's delta is charged to the node it hit.
const selfUs = new Map<number, number>();
let totalUs = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  totalUs += dt;
  const id = prof.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}

/** Where a frame comes from: a sandns folder, a node internal, a package, or V8's pseudo-frames. */
function area(cf: CallFrame): string {
  const u = cf.url;
  if (u === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native/builtin)';
  if (u.startsWith('node:')) return u.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '');
  const m = /\/node_modules\/((@[^/]+\/)?[^/]+)/.exec(u);
  if (m !== null) return `pkg:${m[1]}`;
  const s = /\/dist(?:-bench)?\/([^/]+)\/(?:(io)\/)?/.exec(u);
  if (s !== null) return `sandns:${s[1]}${s[2] === undefined ? '' : '/io'}`;
  return u;
}

function label(cf: CallFrame): string {
  const file = cf.url === '' ? '' : ` ${cf.url.replace(/^.*\/(dist(-bench)?|node_modules)\//, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
  return `${cf.functionName || '(anonymous)'}${file}`;
}

const fnSelf = new Map<string, number>();
const areaSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const cf = byId.get(id)!.callFrame;
  fnSelf.set(label(cf), (fnSelf.get(label(cf)) ?? 0) + us);
  areaSelf.set(area(cf), (areaSelf.get(area(cf)) ?? 0) + us);
}

// Inclusive time per function (each sample counted once per function on its stack).
const fnTotal = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n)!.callFrame);
    if (seen.has(l)) continue;
    seen.add(l);
    fnTotal.set(l, (fnTotal.get(l) ?? 0) + us);
  }
}

const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
const busy = totalUs - (areaSelf.get('(idle)') ?? 0);
process.stdout.write(`profile ${file}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${pct(busy)} busy (not idle)\n\n`);
process.stdout.write('## self time by area\n');
for (const [k, us] of [...areaSelf].sort((a, b) => b[1] - a[1])) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write(`\n## self time, top ${top} functions\n`);
for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write(`\n## inclusive time, top ${top} functions (sandns and node:dgram)\n`);
const interesting = [...fnTotal].filter(([k]) => /resolver|sandbox|controller|bench|dgram|udp|onMessage|emit/.test(k));
for (const [k, us] of interesting.sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
