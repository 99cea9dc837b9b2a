/**
 * L5, L6 through the real daemon over its unix socket: a seeded
 * random mix of network and sandbox creates and deletes, connects and
 * disconnects over small name and subnet pools (so they collide), 8 at a
 * time. Every answer must be explained by one serial order of the same
 * operations (a linearizability check against a serial model), the API's
 * view must be that order's final state, and the kernel and files must be
 * what the API says (`ip -j addr`, `ip netns`, /etc/netns). Then the same
 * mix is cut by `kill -9` at a random moment, 20 times over one state
 * directory: each restart must restore a state that some serial order of the
 * answered operations (plus any of the unanswered ones) gives, with no
 * leaked or missing bridge, veth, namespace, file or record.
 *
 * SEED=<n> replays a run; the seed is printed on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { linearize, type HistoryEntry } from '../helpers/linearize.js';
import {
  apiState, generateOps, kernelDiff, prng, runOp, sameState, topologyModel, type Http, type TopoOp, type TopoRes, type TopoState,
} from '../helpers/topology-model.js';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const tag = uniqueName('q');
const NETS = [0, 1, 2, 3].map((i) => `${tag}n${i}`);
const SBS = [0, 1, 2, 3, 4].map((i) => `${tag}s${i}`);
const bridgeOf = (net: string): string => `${tag}b${net === '' ? '' : NETS.indexOf(net)}`;
const base = randomSubnet().prefix.split('.').map(Number);
const [, b1, b2] = base as [number, number, number];
const even = b2 & ~1;
/** Two /24s, the /23 holding both (overlaps each), and a disjoint /24. */
const SUBNETS = [`10.${b1}.${even}.0/24`, `10.${b1}.${even + 1}.0/24`, `10.${b1}.${even}.0/23`, `10.${b1 === 249 ? 200 : b1 + 1}.${even}.0/24`];

let build: { bin: string; remove(): Promise<void> };
let dir: string;
const daemons: StateDaemon[] = [];

async function freshDaemon(name: string): Promise<StateDaemon> {
  const d = await stateDaemon(build.bin, join(dir, name));
  daemons.push(d);
  return d;
}

function httpOf(d: StateDaemon): Http {
  return (method, path, body) => d.http(method, path, body);
}

/**
 * Run `ops` through the API, `parallel` at a time; an operation whose answer never comes (the daemon died) is
 * pending. `onAnswer(n)` is called after the n-th answer.
 */
async function runMix(http: Http, ops: readonly TopoOp[], parallel: number, onAnswer?: (n: number) => void): Promise<HistoryEntry<TopoOp, TopoRes>[]> {
  let clock = 0;
  let next = 0;
  const history: HistoryEntry<TopoOp, TopoRes>[] = [];
  const worker = async (): Promise<void> => {
    while (next < ops.length) {
      const op = ops[next++]!;
      const call = ++clock;
      try {
        const result = await runOp(http, op, bridgeOf);
        history.push({ op, call, ret: ++clock, result });
        onAnswer?.(history.filter((h) => h.result !== undefined).length);
      } catch {
        history.push({ op, call, ret: Infinity, result: undefined });
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return history;
}

function explain(history: readonly HistoryEntry<TopoOp, TopoRes>[]): string {
  return history.map((h) => `${h.call}-${h.ret} ${JSON.stringify(h.op)} -> ${JSON.stringify(h.result)}`).join('\n');
}

/** The last start's log lines at warn level or above, and those about restore: what a failed check needs to be read. */
async function restoreLog(d: StateDaemon | undefined): Promise<string> {
  if (d === undefined) return '';
  const lines = await d.logLines().catch(() => []);
  const wanted = lines.filter((l) => Number(l.level) >= 40 || /restor/i.test(String(l.msg)));
  return wanted.map((l) => JSON.stringify(l)).join('\n');
}

async function expectConsistent(
  http: Http, history: readonly HistoryEntry<TopoOp, TopoRes>[], init: TopoState, what: string, d?: StateDaemon,
): Promise<TopoState> {
  const seen = (await apiState(http)).state;
  const r = linearize(history, topologyModel, init, (s) => sameState(s, seen));
  if (!r.ok) {
    throw new Error(
      `${what} (seed ${SEED}): ${r.reason}; state before the mix ${topologyModel.key(init)}; API state now ${topologyModel.key(seen)}\n` +
      `${explain(history)}\nthis start's restore log:\n${await restoreLog(d)}`,
    );
  }
  const diff = await kernelDiff(http, tag, bridgeOf, existsSync, SBS);
  expect(diff, `${what} (seed ${SEED}): kernel and files differ from the API`).toEqual([]);
  return seen;
}

async function teardown(d: StateDaemon): Promise<void> {
  const http = httpOf(d);
  if (!d.alive()) await d.start();
  for (const s of SBS) await http('DELETE', `/sandboxes/${s}`);
  for (const n of NETS) await http('DELETE', `/networks/${n}`);
  expect(await kernelDiff(http, tag, bridgeOf, existsSync, SBS)).toEqual([]);
  expect((await apiState(http)).state.nets.size).toBe(0);
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-340-'));
}, 60_000);

afterAll(async () => {
  for (const d of daemons) await d.kill('SIGKILL');
  for (const ns of SBS) await execa('ip', ['netns', 'del', ns], { reject: false });
  for (const i of NETS.keys()) await execa('ip', ['link', 'del', bridgeOf(NETS[i]!)], { reject: false });
  for (const s of SBS) await rm(`/etc/netns/${s}`, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

describe('340 concurrent mix against a serial model and the kernel', () => {
  it(`L5 220 random operations, 8 in parallel: linearizable, API = model = kernel (seed ${SEED})`, async () => {
    const d = await freshDaemon('mix');
    await d.start();
    const http = httpOf(d);
    const ops = generateOps(prng(SEED), 220, NETS, SBS, SUBNETS);
    const history = await runMix(http, ops, 8);
    expect(history.filter((h) => h.result === undefined || h.result.status >= 500).map((h) => JSON.stringify(h))).toEqual([]);
    const empty: TopoState = { nets: new Map(), sbs: new Set(), conns: new Map() };
    const final = await expectConsistent(http, history, empty, 'after the mix');
    expect(final.nets.size + final.sbs.size).toBeGreaterThan(0);
    // Real collisions happened: every kind of refusal is in the history.
    const codes = new Set(history.map((h) => h.result?.code).filter(Boolean));
    for (const c of ['ERR_NETWORK_EXISTS', 'ERR_SANDBOX_EXISTS', 'ERR_NETWORK_NOT_FOUND']) expect(codes).toContain(c);
    await teardown(d);
    await d.kill('SIGTERM');
  }, 300_000);

  it(`L6 kill -9 at a random point of the mix, 20 times: restore leaves nothing leaked or missing (seed ${SEED})`, async () => {
    const d = await freshDaemon('kill');
    const http = httpOf(d);
    const rand = prng(SEED ^ 0x5eed);
    let prev: { history: HistoryEntry<TopoOp, TopoRes>[]; init: TopoState } | undefined;
    let init: TopoState = { nets: new Map(), sbs: new Set(), conns: new Map() };
    let pendingSeen = 0;
    for (let round = 0; round < 20; round++) {
      await d.start();
      init = prev === undefined ? await expectConsistent(http, [], init, 'first start') : await expectConsistent(http, prev.history, prev.init, `restart ${round}`, d);
      const ops = generateOps(rand, 16, NETS, SBS, SUBNETS);
      // The kill comes a random 0-20 ms after a random answer (the 1st to the 12th of 16): however fast the daemon
      // is, operations are in flight, each at its own stage.
      const killAfter = 1 + Math.floor(rand() * 12);
      const delay = Math.floor(rand() * 20);
      let killed: Promise<void> | undefined;
      const mix = runMix(http, ops, 8, (n) => {
        if (n === killAfter) killed = new Promise((r) => setTimeout(r, delay)).then(() => d.kill('SIGKILL'));
      });
      const history = await mix;
      await (killed ?? d.kill('SIGKILL'));
      // No pause before the restart: the killed daemon's `ip` children may still run, and restore must wait them out.
      pendingSeen += history.filter((h) => h.result === undefined).length;
      expect(history.filter((h) => h.result !== undefined && h.result.status >= 500).map((h) => JSON.stringify(h))).toEqual([]);
      prev = { history, init };
    }
    await d.start();
    await expectConsistent(http, prev!.history, prev!.init, 'last restart', d);
    expect(pendingSeen).toBeGreaterThan(0);
    await teardown(d);
    await d.kill('SIGTERM');
  }, 600_000);
});
