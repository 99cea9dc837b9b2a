/**
 * The serial model of the daemon's topology API (L5) for the
 * randomized concurrency tests: networks (name → subnet), sandboxes, and
 * connections (network × sandbox → address), the operations a seeded
 * generator draws, how they run against the real API, and what the API
 * and the kernel show afterwards.
 */
import { execa } from 'execa';
import { Address4 } from 'ip-address';
import type { Model } from './linearize.js';
import { randomSubnet } from './daemon.js';
import { uniqueName } from './names.js';

/** An operation of the mix. */
export type TopoOp =
  | { kind: 'netCreate'; net: string; subnet?: string }
  | { kind: 'netDelete'; net: string }
  | { kind: 'sbCreate'; sb: string }
  | { kind: 'sbDelete'; sb: string }
  | { kind: 'connect'; net: string; sb: string }
  | { kind: 'disconnect'; net: string; sb: string };

/** What the API answered: status, error code, and the allocated subnet or address. */
export interface TopoRes {
  status: number;
  code?: string;
  subnet?: string;
  ip?: string;
}

/** The model's state (immutable values). */
export interface TopoState {
  readonly nets: ReadonlyMap<string, string>;
  readonly sbs: ReadonlySet<string>;
  /** `${net}|${sb}` → address. */
  readonly conns: ReadonlyMap<string, string>;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded mix of operations over small name pools, so they collide. */
export function generateOps(rand: () => number, count: number, nets: readonly string[], sbs: readonly string[], subnets: readonly string[]): TopoOp[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ops: TopoOp[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.14) ops.push(rand() < 0.4 ? { kind: 'netCreate', net: pick(nets) } : { kind: 'netCreate', net: pick(nets), subnet: pick(subnets) });
    else if (r < 0.22) ops.push({ kind: 'netDelete', net: pick(nets) });
    else if (r < 0.36) ops.push({ kind: 'sbCreate', sb: pick(sbs) });
    else if (r < 0.44) ops.push({ kind: 'sbDelete', sb: pick(sbs) });
    else if (r < 0.78) ops.push({ kind: 'connect', net: pick(nets), sb: pick(sbs) });
    else ops.push({ kind: 'disconnect', net: pick(nets), sb: pick(sbs) });
  }
  return ops;
}

function overlaps(a: string, b: string): boolean {
  const x = new Address4(a);
  const y = new Address4(b);
  return x.isInSubnet(y) || y.isInSubnet(x);
}

const fail = (res: TopoRes | undefined, status: number, code: string): boolean => res === undefined || (res.status === status && res.code === code);

/** The serial model: each step returns the states consistent with the observed result (pending: success effects only). */
export const topologyModel: Model<TopoState, TopoOp, TopoRes> = {
  key: (s) => JSON.stringify([[...s.nets].sort(), [...s.sbs].sort(), [...s.conns].sort()]),
  step(s, op, res) {
    const pending = res === undefined;
    const ok = (status: number): boolean => pending || res.status === status;
    switch (op.kind) {
      case 'netCreate': {
        if (s.nets.has(op.net)) return fail(res, 409, 'ERR_NETWORK_EXISTS') && !pending ? [s] : [];
        const subnet = op.subnet ?? res?.subnet;
        if (op.subnet !== undefined && [...s.nets.values()].some((o) => o !== '*' && overlaps(o, op.subnet!))) return fail(res, 409, 'ERR_NETWORK_SUBNET_OVERLAP') && !pending ? [s] : [];
        if (!ok(201)) return [];
        if (subnet !== undefined && [...s.nets.values()].some((o) => o !== '*' && overlaps(o, subnet))) return [];
        return [{ ...s, nets: new Map([...s.nets, [op.net, subnet ?? '*']]) }];
      }
      case 'netDelete': {
        if (!s.nets.has(op.net)) return fail(res, 404, 'ERR_NETWORK_NOT_FOUND') && !pending ? [s] : [];
        if ([...s.conns.keys()].some((k) => k.startsWith(`${op.net}|`))) return fail(res, 403, 'ERR_NETWORK_ACTIVE_ENDPOINTS') && !pending ? [s] : [];
        if (!ok(200)) return [];
        const nets = new Map(s.nets);
        nets.delete(op.net);
        return [{ ...s, nets }];
      }
      case 'sbCreate': {
        if (s.sbs.has(op.sb)) return fail(res, 409, 'ERR_SANDBOX_EXISTS') && !pending ? [s] : [];
        return ok(201) ? [{ ...s, sbs: new Set([...s.sbs, op.sb]) }] : [];
      }
      case 'sbDelete': {
        if (!s.sbs.has(op.sb)) return fail(res, 404, 'ERR_SANDBOX_NOT_FOUND') && !pending ? [s] : [];
        if (!ok(200)) return [];
        const sbs = new Set(s.sbs);
        sbs.delete(op.sb);
        return [{ ...s, sbs, conns: new Map([...s.conns].filter(([k]) => !k.endsWith(`|${op.sb}`))) }];
      }
      case 'connect': {
        if (!s.nets.has(op.net)) return fail(res, 404, 'ERR_NETWORK_NOT_FOUND') && !pending ? [s] : [];
        if (!s.sbs.has(op.sb)) return fail(res, 404, 'ERR_SANDBOX_NOT_FOUND') && !pending ? [s] : [];
        const key = `${op.net}|${op.sb}`;
        if (s.conns.has(key)) return fail(res, 409, 'ERR_SANDBOX_ALREADY_ON_NETWORK') && !pending ? [s] : [];
        if (!ok(201)) return [];
        const subnet = s.nets.get(op.net)!;
        const ip = res?.ip ?? '*';
        if (ip !== '*' && subnet !== '*' && !new Address4(ip).isInSubnet(new Address4(subnet))) return [];
        if (ip !== '*' && [...s.conns].some(([k, a]) => k.startsWith(`${op.net}|`) && a === ip)) return [];
        return [{ ...s, conns: new Map([...s.conns, [key, ip]]) }];
      }
      case 'disconnect': {
        if (!s.nets.has(op.net)) return fail(res, 404, 'ERR_NETWORK_NOT_FOUND') && !pending ? [s] : [];
        if (!s.sbs.has(op.sb)) return fail(res, 404, 'ERR_SANDBOX_NOT_FOUND') && !pending ? [s] : [];
        const key = `${op.net}|${op.sb}`;
        if (!s.conns.has(key)) return fail(res, 404, 'ERR_ENDPOINT_NOT_FOUND') && !pending ? [s] : [];
        if (!ok(200)) return [];
        const conns = new Map(s.conns);
        conns.delete(key);
        return [{ ...s, conns }];
      }
    }
  },
};

/** True when the model's state matches what is observed ('*' in the model matches anything). */
export function sameState(model: TopoState, seen: TopoState): boolean {
  if (model.nets.size !== seen.nets.size || model.sbs.size !== seen.sbs.size || model.conns.size !== seen.conns.size) return false;
  for (const [n, sub] of model.nets) if (!seen.nets.has(n) || (sub !== '*' && seen.nets.get(n) !== sub)) return false;
  for (const sb of model.sbs) if (!seen.sbs.has(sb)) return false;
  for (const [k, ip] of model.conns) if (!seen.conns.has(k) || (ip !== '*' && seen.conns.get(k) !== ip)) return false;
  return true;
}

/** The JSON over the socket a test client needs. */
export type Http = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** Run one operation through the API; bridges are named `<bridgePrefix><index of the net>` so the test finds its own. */
export async function runOp(http: Http, op: TopoOp, bridgeOf: (net: string) => string): Promise<TopoRes> {
  const call = async (method: string, path: string, body?: unknown): Promise<TopoRes> => {
    const r = await http(method, path, body);
    const b = (r.body ?? {}) as { code?: string; subnet?: string; ipv4?: string };
    return { status: r.status, ...(b.code !== undefined ? { code: b.code } : {}), ...(b.subnet !== undefined ? { subnet: b.subnet } : {}), ...(b.ipv4 !== undefined ? { ip: b.ipv4 } : {}) };
  };
  switch (op.kind) {
    case 'netCreate':
      return call('POST', '/networks', { name: op.net, ...(op.subnet ? { subnet: op.subnet } : {}), driverOptions: { bridgeName: bridgeOf(op.net) } });
    case 'netDelete':
      return call('DELETE', `/networks/${op.net}`);
    case 'sbCreate':
      return call('POST', '/sandboxes', { name: op.sb });
    case 'sbDelete':
      return call('DELETE', `/sandboxes/${op.sb}`);
    case 'connect':
      return call('POST', `/networks/${op.net}/connect`, { sandbox: op.sb });
    case 'disconnect':
      return call('POST', `/networks/${op.net}/disconnect`, { sandbox: op.sb });
  }
}

interface NetInfo { name: string; id: string; subnet: string; gateway: string; endpoints: { ipv4: string; sandbox?: string }[] }
interface SbInfo { id: string; netnsPath: string; hostsPath: string; resolvConfPath: string; endpoints: { id: string; network: string; ipv4: string; ifname?: string }[] }

/** What the API shows, as a model state, plus the raw listings. */
export async function apiState(http: Http): Promise<{ state: TopoState; nets: NetInfo[]; sbs: SbInfo[] }> {
  const nets = (await http('GET', '/networks')).body as NetInfo[];
  const sbs = (await http('GET', '/sandboxes')).body as SbInfo[];
  const conns = new Map<string, string>();
  for (const s of sbs) for (const e of s.endpoints) conns.set(`${e.network}|${s.id}`, e.ipv4);
  return { state: { nets: new Map(nets.map((n) => [n.name, n.subnet])), sbs: new Set(sbs.map((s) => s.id)), conns }, nets, sbs };
}

interface Link { ifname: string; master?: string; ifalias?: string; addr_info?: { family: string; local: string }[] }

async function linksIn(netns?: string): Promise<Link[]> {
  const r = await execa('ip', [...(netns ? ['-n', netns] : []), '-j', 'addr', 'show']);
  return JSON.parse(r.stdout) as Link[];
}

/**
 * Differences between the API's view and the kernel and files, for the
 * test's own objects (`tag` prefixes every name): one bridge per network with
 * its gateway, nothing else on our bridges or named like them; one namespace
 * per sandbox holding lo and one interface per connection with its address;
 * hosts and resolv.conf for every sandbox and no files of gone ones.
 */
export async function kernelDiff(http: Http, tag: string, bridgeOf: (net: string) => string, fileExists: (p: string) => boolean, sbNames: readonly string[]): Promise<string[]> {
  const { nets, sbs } = await apiState(http);
  const out: string[] = [];
  const host = await linksIn();
  const ours = host.filter((l) => l.ifname.startsWith(bridgeOf('')));
  const wantBridges = new Map(nets.map((n) => [bridgeOf(n.name), n]));
  for (const l of ours) {
    const n = wantBridges.get(l.ifname);
    if (n === undefined) out.push(`bridge ${l.ifname} has no network`);
    else if (!(l.addr_info ?? []).some((a) => a.local === n.gateway)) out.push(`bridge ${l.ifname} lacks gateway ${n.gateway}`);
  }
  for (const b of wantBridges.keys()) if (!ours.some((l) => l.ifname === b)) out.push(`network's bridge ${b} is missing`);
  const wantVeths = new Set(sbs.flatMap((s) => s.endpoints.map((e) => `sv${e.id.slice(0, 12)}`)));
  for (const l of host) {
    if (l.master !== undefined && wantBridges.has(l.master) && !wantVeths.has(l.ifname)) out.push(`leaked veth ${l.ifname} on ${l.master}`);
  }
  for (const s of sbs) {
    for (const e of s.endpoints) {
      const v = host.find((l) => l.ifname === `sv${e.id.slice(0, 12)}`);
      if (v === undefined || v.master !== bridgeOf(e.network)) out.push(`veth of ${s.id} on ${e.network} missing or off its bridge`);
    }
  }
  const { stdout } = await execa('ip', ['-j', 'netns', 'list']);
  const nsList = stdout.trim() === '' ? [] : (JSON.parse(stdout) as { name: string }[]).map((x) => x.name).filter((x) => x.startsWith(tag));
  const wantNs = new Set(sbs.map((s) => s.id));
  for (const ns of nsList) if (!wantNs.has(ns)) out.push(`leaked namespace ${ns}`);
  for (const s of sbs) {
    if (!nsList.includes(s.id)) {
      out.push(`sandbox ${s.id} has no namespace`);
      continue;
    }
    const inner = (await linksIn(s.id)).filter((l) => l.ifname !== 'lo');
    const ips = inner.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local)).sort();
    const want = s.endpoints.map((e) => e.ipv4).sort();
    if (JSON.stringify(ips) !== JSON.stringify(want) || inner.length !== want.length) out.push(`sandbox ${s.id} interfaces ${JSON.stringify(ips)} != ${JSON.stringify(want)}`);
    for (const p of [s.hostsPath, s.resolvConfPath]) if (!fileExists(p)) out.push(`sandbox ${s.id} lacks ${p}`);
  }
  for (const n of nets) {
    const joined = sbs.flatMap((sb) => sb.endpoints.filter((e) => e.network === n.name).map((e) => `${sb.id}=${e.ipv4}`)).sort();
    const eps = n.endpoints.map((e) => `${e.sandbox ?? '-'}=${e.ipv4}`).sort();
    if (JSON.stringify(eps) !== JSON.stringify(joined)) out.push(`network ${n.name} endpoint records ${JSON.stringify(eps)} != joins ${JSON.stringify(joined)}`);
    const rows = (await http('GET', `/records?network=${n.name}`)).body as { type: string; value: string }[];
    const a = [...new Set(rows.filter((r) => r.type === 'A').map((r) => r.value))].sort();
    const want = [...new Set(joined.map((j) => j.split('=')[1]!))].sort();
    if (JSON.stringify(a) !== JSON.stringify(want)) out.push(`network ${n.name} DNS records ${JSON.stringify(a)} != ${JSON.stringify(want)}`);
  }
  for (const name of sbNames) if (!wantNs.has(name) && fileExists(`/etc/netns/${name}`)) out.push(`files of gone sandbox ${name} left in /etc/netns`);
  return out;
}

/**
 * The names of a topology test's objects: two networks n0 and n1 on adjacent /24s of a random prefix, `sandboxes`
 * sandboxes s0.., and the bridge name kernelDiff expects for a network ('' : the name of no network's bridge).
 */
export function topologyNames(prefix: string, sandboxes: number): {
  tag: string;
  nets: [string, string];
  sbs: string[];
  bridgeOf: (net: string) => string;
  subnet: Map<string, string>;
} {
  const tag = uniqueName(prefix);
  const nets: [string, string] = [`${tag}n0`, `${tag}n1`];
  const sbs = Array.from({ length: sandboxes }, (_, i) => `${tag}s${i}`);
  const bridgeOf = (net: string): string => `${tag}b${net === '' ? '' : nets.indexOf(net)}`;
  const [a, b, c] = randomSubnet().prefix.split('.').map(Number) as [number, number, number];
  const subnet = new Map([[nets[0], `${a}.${b}.${c}.0/24`], [nets[1], `${a}.${b === 250 ? 200 : b + 1}.${c}.0/24`]]);
  return { tag, nets, sbs, bridgeOf, subnet };
}
