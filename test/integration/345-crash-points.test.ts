/**
 * L3, L6 deterministically: every operation of the topology API cut by
 * a kill -9 at each of its steps in turn. The daemon runs with crash points
 * on (common/crash.ts, SANDNS_CRASH_POINTS=1); the request carries
 * `x-sandns-crash-at: n`, so the daemon SIGKILLs itself at the n-th step
 * from then on: after a state write, after an `ip`/`nsenter` child was
 * started (it keeps running as an orphan while the next daemon starts: no
 * pause is given), or after one finished. n counts up until the operation
 * gets its answer. After each cut the daemon restarts on the same state
 * directory, and its API must show the state before the operation or after
 * it (the operation was never answered), and the kernel and files must be
 * what the API says: no bridge, veth, namespace or file leaked or missing,
 * no network listed without its bridge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { apiState, kernelDiff, runOp, sameState, topologyModel, topologyNames, type Http, type TopoOp, type TopoState } from '../helpers/topology-model.js';

const { tag, nets: NETS, sbs: SBS, bridgeOf, subnet: SUBNET } = topologyNames('k', 2);
const [N0, N1] = NETS;
const [S0, S1] = SBS as [string, string];

let build: { bin: string; remove(): Promise<void> };
let dir: string;
let d: StateDaemon;

function state(nets: string[], sbs: string[], conns: string[]): TopoState {
  return { nets: new Map(nets.map((n) => [n, SUBNET.get(n)!])), sbs: new Set(sbs), conns: new Map(conns.map((k) => [k, '*'])) };
}

/** The operations, each from the state it needs (so it succeeds when not cut). */
/**
 * The operations, each from the state it needs (so it succeeds when not cut), and the outcomes its cuts must show:
 * a create is undone before its commit point and kept after it; a delete saves its intent before any kernel step, so
 * every cut finishes it (never 'before'). A disconnect's first step removes the veth, which a restart finishes as a
 * leave, so its cuts may show only 'after'.
 */
const SCENARIOS: { name: string; pre: TopoState; op: TopoOp; outcomes: string[]; never?: string }[] = [
  { name: 'network create', pre: state([N0], [], []), op: { kind: 'netCreate', net: N1, subnet: SUBNET.get(N1)! }, outcomes: ['after', 'before'] },
  { name: 'network delete', pre: state([N0, N1], [], []), op: { kind: 'netDelete', net: N1 }, outcomes: ['after'], never: 'before' },
  { name: 'sandbox create', pre: state([N0], [], []), op: { kind: 'sbCreate', sb: S1 }, outcomes: ['after', 'before'] },
  { name: 'sandbox delete (connected)', pre: state([N0], [S1], [`${N0}|${S1}`]), op: { kind: 'sbDelete', sb: S1 }, outcomes: ['after'], never: 'before' },
  { name: 'connect', pre: state([N0], [S0], []), op: { kind: 'connect', net: N0, sb: S0 }, outcomes: ['after', 'before'] },
  { name: 'disconnect', pre: state([N0], [S0], [`${N0}|${S0}`]), op: { kind: 'disconnect', net: N0, sb: S0 }, outcomes: ['after'] },
];

const http: Http = (method, path, body) => d.http(method, path, body);

/** Bring the daemon's topology to `want` through the API (deletes first, then creates). */
async function reach(want: TopoState): Promise<void> {
  const have = (await apiState(http)).state;
  const must = async (op: TopoOp): Promise<void> => {
    const r = await runOp(http, op, bridgeOf);
    if (r.status >= 300) throw new Error(`setting up ${JSON.stringify(op)}: ${JSON.stringify(r)}`);
  };
  for (const k of have.conns.keys()) {
    const [net, sb] = k.split('|') as [string, string];
    if (!want.conns.has(k)) await must({ kind: 'disconnect', net, sb });
  }
  for (const sb of have.sbs) if (!want.sbs.has(sb)) await must({ kind: 'sbDelete', sb });
  for (const net of have.nets.keys()) if (!want.nets.has(net)) await must({ kind: 'netDelete', net });
  for (const [net, subnet] of want.nets) if (!have.nets.has(net)) await must({ kind: 'netCreate', net, subnet });
  for (const sb of want.sbs) if (!have.sbs.has(sb)) await must({ kind: 'sbCreate', sb });
  for (const k of want.conns.keys()) {
    const [net, sb] = k.split('|') as [string, string];
    if (!have.conns.has(k)) await must({ kind: 'connect', net, sb });
  }
}

/** Run `op` with the crash armed at step `n`: the answer, or undefined when the daemon died before answering. */
async function cutAt(op: TopoOp, n: number): Promise<{ status: number } | undefined> {
  const headers = { 'x-sandns-crash-at': String(n) };
  const send = (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => d.http(method, path, body, headers);
  try {
    return await runOp(send, op, bridgeOf);
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-345-'));
  d = await stateDaemon(build.bin, join(dir, 'd'), { env: { SANDNS_CRASH_POINTS: '1' } });
  await d.start();
}, 60_000);

afterAll(async () => {
  if (d !== undefined) {
    if (!d.alive()) await d.start().catch(() => undefined);
    await reach(state([], [], [])).catch(() => undefined);
    await d.kill('SIGTERM');
  }
  for (const ns of SBS) await execa('ip', ['netns', 'del', ns], { reject: false });
  for (const n of NETS) await execa('ip', ['link', 'del', bridgeOf(n)], { reject: false });
  for (const s of SBS) await rm(`/etc/netns/${s}`, { recursive: true, force: true });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 120_000);

describe('345 kill -9 at every step of each operation', () => {
  for (const sc of SCENARIOS) {
    it(`L3 ${sc.name}: cut at each step, the restart shows the state before or after it, and the kernel matches`, async () => {
      const post = topologyModel.step(sc.pre, sc.op, undefined);
      const outcomes = new Set<string>();
      let cuts = 0;
      for (let n = 1; ; n++) {
        expect(n, 'the operation never completed').toBeLessThan(80);
        await reach(sc.pre);
        const answer = await cutAt(sc.op, n);
        if (answer !== undefined) await new Promise((r) => setTimeout(r, 300)); // a step after the answer would cut it now
        if (answer !== undefined && d.alive()) {
          // Past its last step: the operation completed (and armed nothing further; disarm by a later request's restart).
          expect(answer?.status, `${sc.name} uncut`).toBeLessThan(300);
          expect(sameState(post[0]!, (await apiState(http)).state), `${sc.name} uncut: API = the state after it`).toBe(true);
          expect(await kernelDiff(http, tag, bridgeOf, existsSync, SBS)).toEqual([]);
          await d.kill('SIGTERM'); // the armed count must not cut the next scenario's setup
          await d.start();
          break;
        }
        cuts++;
        await d.kill('SIGKILL'); // reaps the exit
        // No pause: `ip` children of the killed daemon may still run; restore must wait for them.
        await d.start();
        const seen = (await apiState(http)).state;
        const before = sameState(sc.pre, seen);
        const after = post.some((s) => sameState(s, seen));
        expect(before || after, `${sc.name} cut at step ${n}: API state ${topologyModel.key(seen)} is neither before nor after (answer ${JSON.stringify(answer)})`).toBe(true);
        if (answer !== undefined) expect(after, `${sc.name} cut at step ${n} after its answer: the answered change must stay`).toBe(true);
        outcomes.add(before ? 'before' : 'after');
        expect(await kernelDiff(http, tag, bridgeOf, existsSync, SBS), `${sc.name} cut at step ${n}`).toEqual([]);
      }
      // Each operation has several steps, and the cuts show the outcomes its write-ahead records promise.
      expect(cuts).toBeGreaterThanOrEqual(3);
      for (const o of sc.outcomes) expect(outcomes, `${sc.name}: some cut shows the state ${o} it`).toContain(o);
      if (sc.never !== undefined) expect(outcomes, `${sc.name}: no cut may show the state ${sc.never} it`).not.toContain(sc.never);
    }, 240_000);
  }
});
