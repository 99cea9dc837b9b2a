/**
 * CHECK (CNI spec 1.0.0 "CHECK"): the container's attachment is what sandns
 * holds and serves. Checked, in order: the sandbox, its endpoint on this
 * network under CNI_IFNAME, the addresses of prevResult, the listener
 * (running, and answering the container's own name from inside its
 * namespace), the records of its name and aliases, and in main mode the
 * links. The first difference is the error, and its message names it.
 */
import type { PluginConfig } from './config.js';
import { failed, getNetwork, getSandbox, type DaemonApi, type EndpointDescription } from './daemon.js';
import { CniCheckError } from './errors.js';
import type { Invocation } from './env.js';
import { cleanAliases, endpointNameOf, sandboxIdOf } from './identity.js';
import { splitCidr } from './result.js';
import type { CniResult } from './spec.js';

interface RecordRow {
  name: string;
  type: string;
  value: string;
  sandbox?: string;
}

/** One endpoint's link state as GET /sandboxes/:id/links reports it. */
export interface LinkState {
  network: string;
  ifname: string;
  problems: string[];
}

const seg = encodeURIComponent;

function checkAddresses(ep: EndpointDescription, prev: CniResult | undefined, ifname: string): void {
  if (prev === undefined) return;
  const ifs = prev.interfaces ?? [];
  for (const ip of prev.ips ?? []) {
    const owner = ip.interface === undefined ? undefined : ifs[ip.interface];
    if (owner !== undefined && (owner.name !== ifname || owner.sandbox === undefined)) continue;
    const { address } = splitCidr(ip.address);
    if (address !== ep.ipv4 && address !== ep.ipv6) {
      throw new CniCheckError(`address ${ip.address} of ${ifname} in prevResult is not the endpoint's (sandns holds ${[ep.ipv4, ep.ipv6].filter(Boolean).join(', ')})`);
    }
  }
}

async function checkRecords(api: DaemonApi, network: string, sandbox: string, names: readonly string[], ipv4: string): Promise<void> {
  const a = await api.request('GET', `/records?network=${seg(network)}`);
  if (a.status !== 200) failed(`list the records of ${network}`, a);
  const rows = (a.body as RecordRow[]).filter((r) => r.sandbox === sandbox && r.type === 'A');
  for (const n of names) {
    if (!rows.some((r) => r.name.toLowerCase() === n.toLowerCase() && r.value === ipv4)) {
      throw new CniCheckError(`record ${n} A ${ipv4} is missing from network ${network}`);
    }
  }
}

async function checkListener(api: DaemonApi, sandbox: string, name: string, ipv4: string): Promise<void> {
  const a = await api.request('POST', `/sandboxes/${seg(sandbox)}/resolve`, { name, type: 'A' });
  if (a.status !== 200) failed(`ask the listener of ${sandbox}`, a);
  const reply = (a.body as { reply?: { status?: string; answer?: { type: string; data: string }[]; error?: string } }).reply;
  if (reply?.status !== 'NOERROR' || !(reply.answer ?? []).some((r) => r.type === 'A' && r.data === ipv4)) {
    const got = reply?.status === 'NOERROR' ? (reply.answer ?? []).map((r) => r.data).join(', ') || 'no address' : (reply?.error ?? reply?.status ?? 'nothing');
    throw new CniCheckError(`the listener 127.0.0.11:53 in the container does not answer ${name} with ${ipv4} (got: ${got})`);
  }
}

async function checkLinks(api: DaemonApi, sandbox: string, network: string, ifname: string): Promise<void> {
  const a = await api.request('GET', `/sandboxes/${seg(sandbox)}/links`);
  if (a.status !== 200) failed(`check the links of ${sandbox}`, a);
  const state = (a.body as LinkState[]).find((l) => l.network === network);
  if (state === undefined) throw new CniCheckError(`no link of ${ifname} on network ${network} is known`);
  if (state.problems.length > 0) throw new CniCheckError(`link ${ifname} on network ${network}: ${state.problems.join('; ')}`);
}

/** CHECK: resolves when everything matches, throws CniCheckError naming the first difference. */
export async function check(config: PluginConfig, inv: Invocation, api: DaemonApi): Promise<void> {
  const sandbox = sandboxIdOf(inv.containerId);
  const sb = await getSandbox(api, sandbox);
  if (sb === undefined) throw new CniCheckError(`container ${inv.containerId} is unknown to sandns (no sandbox ${sandbox})`);
  const ep = sb.endpoints.find((e) => e.network === config.name);
  if (ep === undefined) throw new CniCheckError(`container ${inv.containerId} is not attached to network ${config.name}`);
  if (ep.ifname !== inv.ifname) throw new CniCheckError(`container ${inv.containerId} is attached to ${config.name} as ${ep.ifname ?? 'no interface'}, not ${inv.ifname}`);
  checkAddresses(ep, config.prevResult, inv.ifname);
  if (!sb.listening) throw new CniCheckError(`the listener 127.0.0.11:53 of container ${inv.containerId} is not running`);
  const name = ep.name ?? endpointNameOf(inv.containerId, inv.args);
  await checkRecords(api, config.name, sandbox, [name, ...cleanAliases(name, ep.aliases ?? [])], ep.ipv4);
  await checkListener(api, sandbox, name, ep.ipv4);
  const net = await getNetwork(api, config.name);
  if (net?.driver === 'bridge') await checkLinks(api, sandbox, config.name, inv.ifname);
}
