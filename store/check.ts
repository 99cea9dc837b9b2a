/**
 * Shape check of a decoded state (L3): a file that passed its checksum but
 * does not hold what restore expects (hand-edited, or a bug) is refused with
 * the path of the first bad field, never half-used.
 */
import { StateCorruptError } from './errors.js';
import type { PersistedEndpoint, PersistedNetwork, PersistedSandbox, PersistedState } from './document.js';

type Check = (v: unknown, at: string) => void;

function fail(at: string, want: string): never {
  throw new StateCorruptError(`${at} is not ${want}`);
}

const str: Check = (v, at) => void (typeof v !== 'string' && fail(at, 'a string'));
const bool: Check = (v, at) => void (typeof v !== 'boolean' && fail(at, 'a boolean'));
const int: Check = (v, at) => void (!Number.isSafeInteger(v) && fail(at, 'an integer'));
const obj: Check = (v, at) => void ((typeof v !== 'object' || v === null || Array.isArray(v)) && fail(at, 'an object'));
const strMap: Check = (v, at) => {
  obj(v, at);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) str(x, `${at}.${k}`);
};
const anything: Check = () => undefined;
const opt = (c: Check): Check => (v, at) => void (v !== undefined && c(v, at));
const oneOf = (...values: string[]): Check => (v, at) => void (!values.includes(v as string) && fail(at, values.join(' | ')));
const list = (c: Check): Check => (v, at) => {
  if (!Array.isArray(v)) fail(at, 'a list');
  v.forEach((x, i) => c(x, `${at}[${i}]`));
};
const shape = (fields: Record<string, Check>): Check => (v, at) => {
  obj(v, at);
  for (const [k, c] of Object.entries(fields)) c((v as Record<string, unknown>)[k], `${at}.${k}`);
};

const network = shape({
  id: str, name: str, driver: str, subnet: str, gateway: str, subnet6: opt(str), gateway6: opt(str),
  internal: bool, ttl: int, dns: opt(list(str)), ipRange: opt(str), driverOptions: obj, phase: oneOf('live', 'creating', 'deleting'), scope: opt(oneOf('global')),
  // labels and created are checked by the controller (savedMeta), which drops a bad one and keeps the network
  labels: anything, created: anything,
});
const joinInfo = shape({ hostIfname: str, ifname: str, mac: str, endpointId: opt(str) });
const mapping = shape({ hostIp: opt(str), hostPort: int, containerPort: int, protocol: oneOf('tcp', 'udp') });
const endpoint = shape({
  id: str, name: str, network: str, aliases: list(str), ipv4: str, ipv6: opt(str),
  ports: list(shape({ port: int, proto: oneOf('tcp', 'udp') })), links: obj, disableResolution: bool, joinedOnly: opt(bool),
  publish: opt(list(mapping)), macAddress: opt(str),
  join: opt(shape({ sandbox: str, phase: oneOf('deferred', 'joining', 'joined'), priority: int, gateway: bool, info: opt(joinInfo), ifname: opt(str), resumed: opt(bool) })),
});
const key: Check = (v, at) => {
  shape({ kind: oneOf('owned', 'path', 'late') })(v, at);
  const k = v as { kind: string };
  if (k.kind === 'owned') shape({ netnsName: str })(v, at);
  else if (k.kind === 'path') shape({ path: str })(v, at);
  else shape({ path: opt(str) })(v, at);
};
const sandbox = shape({
  id: str, phase: oneOf('live', 'creating', 'deleting'), key, hostname: opt(str), domainname: opt(str),
  dns: list(str), dnsSearch: list(str), dnsOptions: list(str), extraHosts: list(shape({ name: str, ip: str })),
  disableResolution: bool, hostsPath: str, resolvConfPath: str, resolvConfHashPath: str, ownedDirs: list(str), originals: opt(strMap),
  extServers: list(shape({ address: str, origin: oneOf('host', 'sandbox') })), ndotsSet: bool, ipv6: opt(bool),
});

const RECORD_CHECKS = { networks: network, endpoints: endpoint, sandboxes: sandbox } as const;

/** One record of the state's `kind` list, checked field by field; throws ERR_STORE_CORRUPT naming the first bad field. */
export function checkRecord(kind: keyof typeof RECORD_CHECKS, v: unknown, at: string): void {
  RECORD_CHECKS[kind](v, at);
}

/** The state, checked field by field; throws ERR_STORE_CORRUPT naming the first bad field. */
export function checkState(v: unknown): PersistedState {
  shape({ networks: list(network), endpoints: list(endpoint), sandboxes: list(sandbox) })(v, 'state');
  const s = v as { networks: PersistedNetwork[]; endpoints: PersistedEndpoint[]; sandboxes: PersistedSandbox[] };
  return { networks: s.networks, endpoints: s.endpoints, sandboxes: s.sandboxes };
}
