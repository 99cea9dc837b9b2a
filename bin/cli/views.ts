/**
 * How the CLI shows API objects to people. `--json` bypasses all of this and
 * prints the API's JSON as is.
 */
import type { NetworkInfo, SandboxInfo } from '../../controller/index.js';
import type { RecordRow } from '../../api/index.js';
import type { ProbeRecord, ProbeReply } from '../daemon/dig.js';
import { indent, renderFields, renderTable } from './table.js';


/** How each key mode reads in `sandbox inspect`. */
const KEY_MODES: Record<SandboxInfo['keyMode'], string> = {
  owned: 'owned (namespace created and deleted by sandns)',
  path: 'path (an existing namespace given at create; never deleted by sandns)',
  late: 'late (namespace given by the OCI hook; never deleted by sandns)',
};

/** What `POST /sandboxes/:name/resolve` returns. */
export interface ResolveResult {
  sandbox: string;
  question: { name: string; type: string };
  reply: ProbeReply;
  explanation?: unknown;
}

/** What `POST /networks/:name/connect` and `disconnect` return. */
export interface ConnectResult {
  network: string;
  sandbox: string;
  endpoint: string;
  aliases: string[];
  ipv4: string;
  ipv6?: string;
  ifname?: string;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** Published ports in one cell: `8080->80/tcp, 127.0.0.1:5353->53/udp`. */
function portsText(ports: readonly { hostIp?: string | undefined; hostPort: number; containerPort: number; protocol: string }[]): string {
  return ports.map((p) => `${p.hostIp === undefined ? '' : p.hostIp.includes(':') ? `[${p.hostIp}]:` : `${p.hostIp}:`}${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

/** `network ls`; ids cut to 12 characters unless `truncate` is false (`--no-trunc`). */
export function networksTable(list: readonly NetworkInfo[], truncate = true): string {
  return renderTable(
    ['NAME', 'ID', 'DRIVER', 'SCOPE', 'SUBNET', 'GATEWAY', 'SUBNET6', 'INTERNAL', 'TTL', 'ENDPOINTS'],
    list.map((n) => [n.name, truncate ? n.id.slice(0, 12) : n.id, n.driver, n.scope, n.subnet, n.gateway, n.subnet6, yesNo(n.internal), n.ttl, n.endpoints.length]),
  );
}

/** Labels in one cell, `k=v, k2=v2`; a value that holds a comma, a quote or a space is written as a JSON string, so each label reads one way. */
function labelsText(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  if (labels === undefined) return undefined;
  return Object.entries(labels).map(([k, v]) => `${k}=${/[,"\s]/.test(v) ? JSON.stringify(v) : v}`).join(', ');
}

/** `network inspect`. */
export function networkDetail(n: NetworkInfo): string {
  const head = renderFields([
    ['Name', n.name], ['ID', n.id], ['Driver', n.driver], ['Scope', n.scope], ['Subnet', n.subnet], ['Gateway', n.gateway],
    ['Subnet6', n.subnet6], ['Gateway6', n.gateway6], ['IP range', n.ipRange], ['Internal', yesNo(n.internal)], ['TTL', n.ttl],
    ['Bridge', n.bridge as string | undefined], ['MTU', n.mtu as number | undefined],
    // The overlay's own rows only for an overlay network (a bridge network would show five empty ones).
    ...(n.driver === 'overlay' ? [
      ['VXLAN', n.vxlan as string | undefined], ['VNI', n.vni as number | undefined], ['VTEP', n.vtep as string | undefined],
      ['Attachable', yesNo(n.attachable === true)], ['Remote peers', n.peers as number | undefined],
    ] as const : []),
    ['DNS', n.dns?.join(', ')],
    ['Labels', labelsText(n.labels)],
    ['Created', n.created],
  ]);
  const eps = renderTable(
    ['ENDPOINT', 'SANDBOX', 'ALIASES', 'IPV4', 'IPV6', 'MAC', 'HOST IF', 'PORTS'],
    n.endpoints.map((e) => [e.name, e.sandbox, e.aliases.join(','), e.ipv4, e.ipv6, e.macAddress, e.hostIfname, portsText(e.ports)]),
  );
  return `${head}Endpoints:\n${indent(eps)}`;
}

/** `sandbox ls`. */
export function sandboxesTable(list: readonly SandboxInfo[]): string {
  return renderTable(
    ['NAME', 'NETNS', 'HOSTNAME', 'NETWORKS', 'LISTENER'],
    list.map((s) => [s.id, s.netnsPath, s.hostname, s.endpoints.map((e) => `${e.network}=${e.ipv4}`).join(','), s.listening ? 'yes' : 'no']),
  );
}

/** `sandbox inspect`. */
export function sandboxDetail(s: SandboxInfo): string {
  const head = renderFields([
    ['Name', s.id], ['Netns', s.netnsPath === '' ? '(none yet: waiting for its key from the OCI hook)' : s.netnsPath], ['Key mode', KEY_MODES[s.keyMode]],
    ['Hostname', s.hostname], ['Domainname', s.domainname], ['Hosts file', s.hostsPath], ['resolv.conf', s.resolvConfPath],
    ['Listener', listenerText(s)],
    ['DNS', s.dns.join(', ')], ['DNS search', s.dnsSearch.join(', ')], ['DNS options', s.dnsOptions.join(' ')],
    ['Extra hosts', s.extraHosts.map((h) => `${h.name}:${h.ip}`).join(', ')],
    ['Upstreams', s.extServers.map((x) => `${x.address} (${x.origin})`).join(', ')],
  ]);
  const eps = renderTable(
    ['NETWORK', 'ENDPOINT', 'ALIASES', 'IFNAME', 'IPV4', 'IPV6', 'MAC', 'HOST IF', 'PORTS', 'GATEWAY', 'PRIORITY', 'LINKS', 'DNS'],
    s.endpoints.map((e) => [
      e.network, e.name, e.aliases.join(','), e.ifname, e.ipv4, e.ipv6, e.macAddress, e.hostIfname, portsText(e.ports), e.gateway === undefined ? undefined : yesNo(e.gateway),
      e.priority, Object.entries(e.links ?? {}).map(([alias, target]) => `${target}:${alias}`).join(','), e.disableResolution === true ? 'off' : 'on',
    ]),
  );
  return `${head}Endpoints:\n${indent(eps)}`;
}

/** `records`: every name, alias, address and PTR, zone-style. */
export function recordsTable(rows: readonly RecordRow[]): string {
  return renderTable(
    ['NETWORK', 'NAME', 'TTL', 'TYPE', 'VALUE', 'ENDPOINT', 'KIND'],
    rows.map((r) => [r.network, r.name, r.ttl, r.type, r.value, r.endpoint, r.kind]),
  );
}

/** `connect` / `disconnect`, one line. */
export function connectLine(verb: 'connected to' | 'disconnected from', r: ConnectResult): string {
  const addr = [r.ipv4, r.ipv6].filter(Boolean).join(', ');
  const alias = r.aliases.length > 0 ? `, aliases ${r.aliases.join(',')}` : '';
  return `${r.sandbox} ${verb} ${r.network} (${addr}${r.ifname ? ` on ${r.ifname}` : ''}${alias})\n`;
}

function recordLines(title: string, recs: readonly ProbeRecord[]): string {
  if (recs.length === 0) return '';
  return `${title}:\n${indent(renderTable(['NAME', 'TTL', 'TYPE', 'DATA'], recs.map((r) => [r.name, r.ttl, r.type, r.data])).split('\n').slice(1).join('\n'))}`;
}

/** The explanation as text: a string as is, else its `summary` (and the upstreams a miss goes to); details are in --json. */
export function explanationText(e: unknown): string {
  if (e === undefined) return 'no explanation available from this daemon\n';
  if (typeof e === 'string') return `${e}\n`;
  const o = (typeof e === 'object' && e !== null ? e : {}) as { summary?: unknown; upstreams?: unknown };
  if (typeof o.summary !== 'string') return `${JSON.stringify(e)}\n`;
  const ups = Array.isArray(o.upstreams) && o.upstreams.length > 0 ? `upstreams: ${o.upstreams.join(', ')}\n` : '';
  return `${o.summary}\n${ups}`;
}

/** `resolve`: what the sandbox's own listener answered, and why. */
export function resolveView(r: ResolveResult): string {
  const p = r.reply;
  const via = [p.server, p.timeMs === undefined ? undefined : `${p.timeMs} ms`].filter(Boolean).join(', ');
  const head = `${r.question.name} ${r.question.type} from sandbox ${r.sandbox}${via ? ` (${via})` : ''}\n`;
  const status = p.status === 'TIMEOUT' ? `status: no reply (${p.error ?? 'timed out'})\n` : `status: ${p.status}   flags: ${p.flags.join(' ')}\n`;
  const body = recordLines('answer', p.answer) + recordLines('authority', p.authority) + recordLines('additional', p.additional);
  return `${head}${status}${body}why: ${explanationText(r.explanation)}`;
}

/** The cluster part of `sandns status` (docs/cluster.md M8). */
export function clusterFields(c: Record<string, unknown>): string {
  if (c.configured !== true) return renderFields([['Cluster', 'none (single host)']]);
  const lease = c.lease as { id?: string; ttl: number };
  const members = (c.members as { id: string; advertise: string; hostname: string }[]).map((m) => `${m.id} ${m.advertise} (${m.hostname})`);
  const lag = c.lagMs === undefined ? 'never synced' : `${(Number(c.lagMs) / 1000).toFixed(1)} s`;
  return renderFields([
    ['Cluster store', `etcd://${String(c.store)}${String(c.prefix)}`], ['Member', c.member as string], ['Advertise', c.advertise as string],
    ['Lease', `${lease.id ?? 'none'} (ttl ${lease.ttl} s)`], ['Sync', `${String(c.sync)} (lag ${lag})`], ['Revision', c.revision as number],
    ['Members', members.join(', ')], ['Global networks', c.networks as number], ['Remote records', c.remoteRecords as number],
    ['Watch reconnects', c.watchReconnects as number], ['Relists', c.relists as number],
    ...(c.lastError !== undefined ? [['Last error', c.lastError as string] as [string, string]] : []),
  ]);
}

/** Why a sandbox has, or has not, its 127.0.0.11 listener (R1, C3). */
function listenerText(s: Pick<SandboxInfo, 'listening' | 'disableResolution' | 'endpoints'>): string {
  if (s.listening) return '127.0.0.11:53 udp+tcp';
  if (s.disableResolution === true) return 'none (resolution disabled: resolv.conf names the origin\'s servers)';
  if (s.endpoints.length === 0) return 'not started (no endpoint yet)';
  return 'not started (every endpoint refuses resolution: resolv.conf names the origin\'s servers)';
}
