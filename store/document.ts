/**
 * What the store holds (L3): a pure, versioned serialisation of the model.
 * Networks, endpoints and sandboxes become plain JSON; IPAM state is not
 * saved, it is derived from the endpoints' addresses at restore. An object
 * whose kernel side is being made or removed is saved with its phase
 * (write-ahead), so a crash in between is undone at restore: never leaked,
 * never resurrected. The document carries a sha256 of its state, so a torn or
 * corrupt file is recognised and the last good one is used instead.
 */
import { createHash } from 'node:crypto';
import { checkState } from './check.js';
import { StateCorruptError, StateVersionError } from './errors.js';

/** Format tag and schema version of state.json. Bump the version with a migration in decodeState. */
export const STATE_FORMAT = 'sandns-state';
export const STATE_VERSION = 1;

/**
 * A network: 'creating' while its bridge is being made (undone at restore),
 * 'deleting' from just before its bridge is removed (finished at restore).
 */
export interface PersistedNetwork {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  subnet6?: string;
  gateway6?: string;
  internal: boolean;
  ttl: number;
  /** Per-network DNS servers (absent in files written before they existed). */
  dns?: string[];
  /** The range dynamic IPv4 addresses come from (--ip-range). */
  ipRange?: string;
  driverOptions: Record<string, unknown>;
  phase: 'live' | 'creating' | 'deleting';
  /** 'global': the network lives in the cluster store (docs/cluster.md M1); absent means local. */
  scope?: 'global';
  /** User labels; absent when none (and in files written before they existed). Read back through savedMeta. */
  labels?: unknown;
  /** When it was made (ISO 8601, UTC); absent in files written before it was kept. Read back through savedMeta. */
  created?: unknown;
}

/** What the driver made on join: the host-side and in-sandbox interface names and the MAC address. */
export interface PersistedJoinInfo {
  hostIfname: string;
  ifname: string;
  mac: string;
  /** The endpoint the join belongs to (absent in older files). */
  endpointId?: string;
}

/** A published port as granted (host port fixed). */
export interface PersistedPortMapping {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** An endpoint's claim on a sandbox: deferred (no key yet), joining (unfinished: undone at restore) or joined. */
export interface PersistedJoin {
  sandbox: string;
  phase: 'deferred' | 'joining' | 'joined';
  priority: number;
  gateway: boolean;
  info?: PersistedJoinInfo;
  /** The interface name the join asked for (`--ifname`), kept while it waits for a key (absent in older files). */
  ifname?: string;
  /** A 'joining' record of a join that takes up an answered claim (a late key's): a crash puts the claim back. */
  resumed?: boolean;
}

/** An endpoint. */
export interface PersistedEndpoint {
  id: string;
  name: string;
  network: string;
  aliases: string[];
  ipv4: string;
  ipv6?: string;
  ports: { port: number; proto: 'tcp' | 'udp' }[];
  links: Record<string, string>;
  disableResolution: boolean;
  /** Published ports (absent in older files). */
  publish?: PersistedPortMapping[];
  /** The MAC address asked for at connect. */
  macAddress?: string;
  /** It exists only while joined (the API's connect): without a join at restore it is a cut-short connect or disconnect, and goes. */
  joinedOnly?: boolean;
  join?: PersistedJoin;
}

/** Where a sandbox's namespace is: one sandns made, a path given at create, or a key set late (OCI hook). */
export type PersistedKey = { kind: 'owned'; netnsName: string } | { kind: 'path'; path: string } | { kind: 'late'; path?: string };

/** A sandbox: 'creating' / 'deleting' while its namespace and files are being made / removed. */
export interface PersistedSandbox {
  id: string;
  phase: 'live' | 'creating' | 'deleting';
  key: PersistedKey;
  /** Absent when the sandbox has no hostname (its name makes no valid host label). */
  hostname?: string;
  domainname?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: { name: string; ip: string }[];
  disableResolution: boolean;
  hostsPath: string;
  resolvConfPath: string;
  resolvConfHashPath: string;
  ownedDirs: string[];
  /** Managed files that existed before (L7): path → where the original content is kept; put back on removal. */
  originals?: Record<string, string>;
  /** The resolver's external servers at save time: a restore takes them instead of rewriting resolv.conf (as Docker). */
  extServers: { address: string; origin: 'host' | 'sandbox' }[];
  ndotsSet: boolean;
  /** Whether the hosts file was written with IPv6 lines (absent: asked again at restore). */
  ipv6?: boolean;
}

/** The whole saved model. */
export interface PersistedState {
  networks: PersistedNetwork[];
  endpoints: PersistedEndpoint[];
  sandboxes: PersistedSandbox[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const PHASE_RANK = { creating: 0, live: 1, deleting: 2 } as const;

/**
 * One record per object (L3). While an operation is in flight an object can
 * have two records: its write-ahead intent and, once the operation applied
 * its result, its live record. The later stage wins: a live record over a
 * 'creating' intent (the create finished), a 'deleting' intent over a live
 * record (the delete began). Restore must never act on both (it would undo
 * the finished create of an object it adopts). Pure; each object keeps the
 * position of its first record.
 */
export function onePerObject<T extends { id: string; phase: keyof typeof PHASE_RANK }>(records: readonly T[]): T[] {
  const best = new Map<string, T>();
  for (const r of records) {
    const had = best.get(r.id);
    if (had === undefined || PHASE_RANK[r.phase] > PHASE_RANK[had.phase]) best.set(r.id, r);
  }
  const seen = new Set<string>();
  return records.flatMap((r) => (seen.has(r.id) ? [] : (seen.add(r.id), [best.get(r.id)!])));
}

/** The state with one record per network and per sandbox (see onePerObject). */
export function settleRecords(state: PersistedState): PersistedState {
  return { networks: onePerObject(state.networks), endpoints: state.endpoints, sandboxes: onePerObject(state.sandboxes) };
}

/** The file text of a state: an envelope with format, version, sequence number, time and checksum. */
export function encodeState(state: PersistedState, seq: number, savedAt: Date, bootId = ''): string {
  const body = JSON.stringify(state);
  const boot = bootId === '' ? '' : `"bootId":${JSON.stringify(bootId)},`;
  return `{"format":"${STATE_FORMAT}","version":${STATE_VERSION},"seq":${seq},"savedAt":"${savedAt.toISOString()}",${boot}"sha256":"${sha256(body)}","state":${body}}\n`;
}

/** A decoded state file. */
export interface DecodedState {
  readonly state: PersistedState;
  readonly seq: number;
  readonly savedAt: string;
  /** The boot the file was written in (proc(5) boot_id), '' when not recorded (older files). */
  readonly bootId: string;
}

/** Parse and verify a state file; throws ERR_STORE_CORRUPT (torn, garbage, bad checksum or shape) or ERR_STORE_VERSION. */
export function decodeState(text: string): DecodedState {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new StateCorruptError(`not JSON (${text.length} bytes; a torn write?)`, err);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== STATE_FORMAT) throw new StateCorruptError('not a sandns state document');
  if (typeof doc.version !== 'number' || !Number.isInteger(doc.version) || doc.version < 1) throw new StateCorruptError('no valid version');
  if (doc.version > STATE_VERSION) throw new StateVersionError(doc.version, STATE_VERSION);
  if (typeof doc.seq !== 'number' || !Number.isSafeInteger(doc.seq) || doc.seq < 0) throw new StateCorruptError('no valid sequence number');
  if (typeof doc.sha256 !== 'string' || sha256(JSON.stringify(doc.state)) !== doc.sha256) throw new StateCorruptError('checksum mismatch');
  return { state: checkState(doc.state), seq: doc.seq, savedAt: typeof doc.savedAt === 'string' ? doc.savedAt : '', bootId: typeof doc.bootId === 'string' ? doc.bootId : '' };
}

/** One file the store found, and its text. */
export interface StateCandidate {
  readonly name: string;
  readonly text: string;
}

/** What chooseState picked, and why the others were not used. */
export interface ChosenState {
  readonly chosen: (DecodedState & { readonly name: string }) | undefined;
  readonly rejected: readonly { readonly name: string; readonly code: string; readonly reason: string }[];
}

/**
 * The newest valid file wins (highest sequence number): after any crash point
 * of the write (tmp written, state rotated to prev, tmp renamed) one complete
 * file holds the last good state. A file from a newer sandns stops the
 * restore (ERR_STORE_VERSION) instead of being overwritten.
 */
export function chooseState(candidates: readonly StateCandidate[]): ChosenState {
  const rejected: { name: string; code: string; reason: string }[] = [];
  let chosen: (DecodedState & { name: string }) | undefined;
  for (const c of candidates) {
    try {
      const d = decodeState(c.text);
      if (chosen === undefined || d.seq > chosen.seq) chosen = { ...d, name: c.name };
    } catch (err) {
      if (err instanceof StateVersionError) throw err;
      const e = err as StateCorruptError;
      rejected.push({ name: c.name, code: e.code, reason: e.message });
    }
  }
  return { chosen, rejected };
}
