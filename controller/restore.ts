/**
 * Restore (L3): rebuild the model from a saved state and reconcile it with
 * the kernel, in libnetwork's order. Networks first (a missing bridge is
 * made again); then sandboxes (namespace gone: its files go and it is not
 * brought back; alive: adopted, files untouched, as Docker); then endpoints
 * (veth present: names and view back without re-plumbing; veth gone: a clean
 * leave, then deleted, or claimed again where the key comes late); then
 * listeners, and a sweep of leaked veths on our own bridges.
 * Unfinished creates and joins (write-ahead phases) are undone, unfinished
 * deletes finished.
 */
import { eachLimited } from '../common/lock.js';
import type { Logger } from '../common/log.js';
import { AddressPool, type Driver, type DriverJoinInfo, type DriverRegistry } from '../drivers/index.js';
import { discardSandbox, netnsMounted, netnsPathFor, openSandbox, pinnedNetnsPath, type DnsFilesConfig, type OpenSandboxOptions } from '../sandbox/index.js';
import { addRecords, claimOnly, moveGateway, plumbLeave, sandboxEndpoint } from './attach.js';
import type { ControllerCore } from './core.js';
import { Endpoint } from './endpoint.js';
import { Network } from './network.js';
import { Sandbox, type SandboxConfig } from './sandbox.js';
import { savedIfname, savedMeta } from './options.js';
import type { Intent, PersistedEndpoint, PersistedJoin, PersistedSandbox, PersistedState } from '../store/index.js';

/** What restore needs from the controller. */
export interface RestoreDeps {
  readonly core: ControllerCore;
  readonly drivers: DriverRegistry;
  readonly logger: Logger;
  readonly originResolvConf: string;
  readonly forwarding?: OpenSandboxOptions['forwarding'];
  readonly addNetwork: (net: Network) => void;
  readonly addSandbox: (sb: Sandbox) => void;
  /**
   * A record whose undo or deletion failed here (its bridge, namespace or files stay): kept on disk in the phase given,
   * so the next start tries again, instead of being written out of the state with the leak forgotten.
   */
  readonly keepUnfinished?: (intent: Intent) => void;
  /** The machine rebooted since the state was written: a namespace alive under an owned sandbox's name is not ours. */
  readonly rebooted?: boolean;
}

/** What a restore did: counts, and every object it repaired or removed. */
export interface RestoreReport {
  networks: number;
  sandboxes: number;
  /** Sandboxes waiting for a key (OCI hook), among `sandboxes`. */
  pending: number;
  endpoints: number;
  joined: number;
  recreatedBridges: string[];
  /** Sandboxes whose namespace was gone: files removed, endpoints left and deleted. */
  removedSandboxes: string[];
  /** Joined endpoints whose veth was gone: left cleanly, then deleted (as a failed connect). */
  leftEndpoints: string[];
  /** Unfinished operations undone (write-ahead phases). */
  undone: string[];
  /** Leaked links deleted. */
  swept: string[];
  /** Links put back on their network (its bridge was made again). */
  reattached: string[];
  /** Records skipped, with why. */
  problems: string[];
  ms: number;
}

/** An empty report (nothing saved yet). */
export function emptyReport(): RestoreReport {
  return { networks: 0, sandboxes: 0, pending: 0, endpoints: 0, joined: 0, recreatedBridges: [], removedSandboxes: [], leftEndpoints: [], undone: [], swept: [], reattached: [], problems: [], ms: 0 };
}

const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function restoreNetworks(deps: RestoreDeps, state: PersistedState, r: RestoreReport, broken: Map<string, Network>): Promise<Map<string, Network>> {
  const nets = new Map<string, Network>();
  for (const p of state.networks) {
    let made: Network | undefined;
    try {
      const driver = deps.drivers.get(p.driver);
      const { meta, dropped } = savedMeta(p.labels, p.created);
      for (const d of dropped) r.problems.push(`network ${p.name}: ${d}: dropped`);
      const net = new Network(deps.core, {
        id: p.id, name: p.name, driver: p.driver, internal: p.internal, ttl: p.ttl, dns: p.dns ?? [], scope: p.scope ?? 'local', driverReady: true,
        pool4: new AddressPool(p.subnet, p.gateway, p.ipRange), pool6: p.subnet6 === undefined ? undefined : new AddressPool(p.subnet6, p.gateway6),
        driverOptions: driver.validateOptions(p.driverOptions), ...meta,
      });
      made = net;
      if (p.phase !== 'live') {
        // An unfinished create is undone, an unfinished delete finished: either way only a bridge carrying this
        // network's mark is removed, so a crash before the add leaves a same-named link alone (L4).
        await driver.discardNetwork(net.driverNetwork);
        r.undone.push(`${p.phase === 'creating' ? 'create' : 'delete'} of network ${p.name}`);
        continue;
      }
      if (!(await driver.networkExists(net.driverNetwork))) {
        await driver.createNetwork(net.driverNetwork);
        r.recreatedBridges.push(p.name);
      }
      deps.addNetwork(net);
      nets.set(net.id, net);
    } catch (err) {
      // A live network that could not be made again: its endpoints' links in the sandboxes go (restoreEndpoint).
      if (p.phase === 'live' && made !== undefined) broken.set(p.id, made);
      // A global network's record is the cluster store's to keep (it may add the network back as live meanwhile).
      const keep = p.phase !== 'live' && p.scope !== 'global';
      if (keep) deps.keepUnfinished?.({ network: p });
      r.problems.push(`network ${p.name}: ${why(err)}${keep ? ` (its ${p.phase} record is kept: the next start tries again)` : ''}`);
    }
  }
  return nets;
}

function filesOf(p: PersistedSandbox, originResolvConf: string): DnsFilesConfig {
  return {
    hostsPath: p.hostsPath, resolvConfPath: p.resolvConfPath, resolvConfHashPath: p.resolvConfHashPath, originResolvConf,
    ownedDirs: p.ownedDirs, originals: p.originals, hostname: p.hostname, domainname: p.domainname, dns: p.dns, dnsSearch: p.dnsSearch,
    dnsOptions: p.dnsOptions, extraHosts: p.extraHosts.map((h) => ({ ip: h.ip, hosts: h.name })), legacy: p.disableResolution,
  };
}

function configOf(p: PersistedSandbox): SandboxConfig {
  return {
    id: p.id, hostname: p.hostname, domainname: p.domainname, dns: p.dns, dnsSearch: p.dnsSearch, dnsOptions: p.dnsOptions,
    extraHosts: p.extraHosts, disableResolution: p.disableResolution,
    netnsName: p.key.kind === 'owned' ? p.key.netnsName : undefined, externalKey: p.key.kind === 'path' ? p.key.path : undefined,
    hostsPath: p.hostsPath, resolvConfPath: p.resolvConfPath,
  };
}

/** One sandbox: discarded (phase not live, or namespace gone), or adopted (alive, or a late key waiting). */
async function restoreSandbox(deps: RestoreDeps, p: PersistedSandbox, r: RestoreReport): Promise<Sandbox | undefined> {
  const files = filesOf(p, deps.originResolvConf);
  const owned = p.key.kind === 'owned' ? p.key.netnsName : undefined;
  // A namespace sandns pinned (ctr's /proc/<pid>/ns/net) goes with its sandbox, as an owned one does.
  const pin = p.key.kind === 'path' && p.key.path === pinnedNetnsPath(p.id) ? p.key.path.slice('/run/netns/'.length) : undefined;
  // A discard that fails keeps the record (as 'deleting' when it was live: its namespace is gone), for the next start.
  const discard = (creating: boolean): Promise<boolean> => discardSandbox(p.id, owned, files, creating, pin !== undefined).catch((err: unknown) => {
    deps.keepUnfinished?.({ sandbox: p.phase === 'live' ? { ...p, phase: 'deleting' } : p });
    throw err;
  });
  if (p.phase !== 'live') {
    const ours = await discard(p.phase === 'creating');
    r.undone.push(`${p.phase === 'creating' ? 'create' : 'delete'} of sandbox ${p.id}`);
    if (!ours) r.problems.push(`sandbox ${p.id}: namespace ${owned} is not the one sandns made: left alone`);
    return undefined;
  }
  const path = p.key.kind === 'owned' ? netnsPathFor(p.key.netnsName) : p.key.path;
  const alive = path !== undefined && (await netnsMounted(path));
  // A reboot ends every namespace: one alive under an owned sandbox's name now was made by someone else, and stays.
  const foreign = alive && owned !== undefined && deps.rebooted === true;
  if ((!alive || foreign) && p.key.kind !== 'late') {
    await (foreign ? discardSandbox(p.id, undefined, files) : discard(false));
    if (foreign) r.problems.push(`sandbox ${p.id}: namespace ${owned} was made after a reboot by someone else: left alone`);
    r.removedSandboxes.push(p.id);
    return undefined;
  }
  const opened = await openSandbox({
    id: p.id, netnsName: owned, netnsPath: p.key.kind === 'owned' || !alive ? undefined : path, pending: p.key.kind === 'late',
    files, logger: deps.logger, forwarding: deps.forwarding,
    restore: { extServers: p.extServers, ndotsSet: p.ndotsSet, ipv6: p.ipv6 },
  });
  const sb = new Sandbox(deps.core, configOf(p), opened);
  deps.addSandbox(sb);
  if (opened.netnsPath === '') r.pending++;
  return sb;
}

async function restoreSandboxes(deps: RestoreDeps, state: PersistedState, r: RestoreReport): Promise<Map<string, Sandbox>> {
  const sbs = new Map<string, Sandbox>();
  await eachLimited(state.sandboxes, 8, async (p) => {
    try {
      const sb = await restoreSandbox(deps, p, r);
      if (sb !== undefined) sbs.set(sb.id, sb);
    } catch (err) {
      r.problems.push(`sandbox ${p.id}: ${why(err)}`);
    }
  });
  return sbs;
}

/** Drop what a join left in the kernel (a veth), whatever the sandbox's fate. */
async function dropPlumbing(driver: Driver, net: Network, ep: Endpoint, j: PersistedJoin, netnsPath: string): Promise<void> {
  if (j.info !== undefined) await driver.leave(net.driverNetwork, j.info, netnsPath);
  else if (j.phase === 'joining') await driver.releaseEndpoint(net.driverNetwork, ep.id);
}

function claim(ep: Endpoint, sb: Sandbox, j: PersistedJoin): void {
  // The interface name it asked for comes back with it: the join that follows a key uses it (not the next eth<N>).
  claimOnly(ep, sb, j.priority, savedIfname(j.ifname).ifname);
}

/** Hosts lines a join may have written go again (H3): through the view, so they match what was written. */
async function dropHostsLines(ep: Endpoint, sb: Sandbox): Promise<void> {
  sb.restoreDns(sandboxEndpoint(ep));
  await (await sb.detachDns(ep.id, true)).refreshed;
}

function endpointOf(deps: RestoreDeps, p: PersistedEndpoint, net: Network): Endpoint {
  const ipv4 = net.pool4.allocate(p.ipv4);
  let ipv6: string | undefined;
  try {
    ipv6 = p.ipv6 === undefined ? undefined : net.pool6?.allocate(p.ipv6);
  } catch (err) {
    net.pool4.release(ipv4);
    throw err;
  }
  return new Endpoint(deps.core, {
    id: p.id, name: p.name, network: net, aliases: p.aliases, ipv4, ipv6, ports: p.ports,
    portMappings: p.publish ?? [], macAddress: p.macAddress,
    links: new Map(Object.entries(p.links)), disableResolution: p.disableResolution, joinedOnly: p.joinedOnly === true,
  });
}

interface Joined {
  ep: Endpoint;
  sb: Sandbox;
  j: PersistedJoin & { info: DriverJoinInfo };
}

/** One endpoint: addresses taken again (IPAM is derived), then its claim settled; a finished join is returned for the veth check. */
async function restoreEndpoint(deps: RestoreDeps, p: PersistedEndpoint, nets: Map<string, Network>, sbs: Map<string, Sandbox>, r: RestoreReport, broken: Map<string, Network>, lostGateway: Set<Sandbox>): Promise<Joined | undefined> {
  const net = nets.get(p.network);
  if (net === undefined) {
    r.problems.push(`endpoint ${p.name}: its network ${p.network.slice(0, 12)} was not restored`);
    // Its link and hosts lines in a sandbox that is back would hold the interface name and stale lines for good.
    const [gone, j] = [broken.get(p.network), p.join];
    const sb = j === undefined ? undefined : sbs.get(j.sandbox);
    if (gone === undefined || j === undefined || sb === undefined) return undefined;
    const ep = endpointOf(deps, p, gone);
    await dropPlumbing(deps.drivers.get(gone.driver), gone, ep, j, sb.netnsPath).catch((err: unknown) => void r.problems.push(`links of ${p.name}: ${why(err)}`));
    if (j.phase !== 'deferred') await dropHostsLines(ep, sb).catch(() => undefined);
    if (j.gateway && j.info !== undefined) lostGateway.add(sb); // its default route went with its veth
    return undefined;
  }
  const ep = endpointOf(deps, p, net);
  const j = p.join;
  const sb = j === undefined ? undefined : sbs.get(j.sandbox);
  const driver = deps.drivers.get(net.driver);
  // A join cut short that took up an answered claim (a late key's, `resumed`) is claimed again below, never deleted;
  // any other join cut short is a connect that never answered.
  if (j !== undefined && (sb === undefined || (j.phase === 'joining' && j.resumed !== true))) {
    // Its sandbox is not coming back, or its join never finished: undone as a failed connect is (left, then
    // deleted: the addresses go back to the pool).
    await dropPlumbing(driver, net, ep, { ...j, phase: 'joining' }, sb?.netnsPath ?? '');
    if (sb !== undefined && j.gateway) lostGateway.add(sb); // a join cut short may have set the route already
    if (sb !== undefined) {
      await dropHostsLines(ep, sb);
      r.undone.push(`join of ${p.name} to ${sb.id}`);
    }
    net.pool4.release(ep.ipv4);
    if (ep.ipv6 !== undefined) net.pool6?.release(ep.ipv6);
    return undefined;
  }
  if (j === undefined && p.joinedOnly === true) {
    // A connect cut short before its join, or a disconnect after its leave: the endpoint lived only while joined (L6).
    net.pool4.release(ep.ipv4);
    if (ep.ipv6 !== undefined) net.pool6?.release(ep.ipv6);
    r.undone.push(`connect or disconnect of ${p.name} on ${net.name}`);
    return undefined;
  }
  net.endpoints.set(ep.id, ep);
  if (j === undefined || sb === undefined) return undefined;
  // The endpoint's id in its join info (older files lack it): the driver's leave unpublishes its ports by it.
  if (j.phase === 'joined' && j.info !== undefined && sb.netnsPath !== '') return { ep, sb, j: { ...j, info: { ...j.info, endpointId: ep.id } } };
  // Deferred, joined to a late key that is gone (the container stopped), or a late key's join cut short: it waits
  // for the next key, or, when the key is there, joins again once restore is done (Controller.restore).
  await dropPlumbing(driver, net, ep, j, sb.netnsPath);
  if (j.phase !== 'deferred') await dropHostsLines(ep, sb);
  if (j.phase === 'joining' && j.gateway) lostGateway.add(sb);
  claim(ep, sb, j);
  return undefined;
}

/** Finished joins: veth present → back in the records and the view, no re-plumbing; gone → a clean leave, then deleted as a failed connect. */
async function settleJoins(deps: RestoreDeps, joined: readonly Joined[], r: RestoreReport): Promise<void> {
  const gone: Joined[] = [];
  const byNet = new Map<Network, Joined[]>();
  for (const x of joined) {
    const list = byNet.get(x.ep.network);
    if (list === undefined) byNet.set(x.ep.network, [x]);
    else list.push(x);
  }
  // Every network at once: a driver may answer them all from one kernel query.
  const checked = await Promise.all([...byNet].map(async ([net, list]) => ({ list, present: await deps.drivers.get(net.driver).endpointsPresent(net.driverNetwork, list.map((x) => x.j.info)) })));
  for (const { list, present } of checked) {
    list.forEach((x, i) => {
      x.ep.attach({ sandbox: x.sb, priority: x.j.priority, gateway: x.j.gateway, link: x.j.info, ...savedIfname(x.j.ifname) });
      x.sb.endpoints.set(x.ep.id, x.ep);
      x.sb.ifnames.add(x.j.info.ifname);
      x.sb.restoreDns(sandboxEndpoint(x.ep));
      if (present[i] === true) addRecords(x.ep, x.sb);
      else gone.push(x);
    });
  }
  r.joined += joined.length - gone.length;
  // The gateway leaves last, so its default route moves to a link still there (or to none), never to one gone too.
  gone.sort((a, b) => Number(a.ep.gateway) - Number(b.ep.gateway));
  for (const x of gone) {
    // A step that fails (the default route moving to another link that is gone too) is a problem, never fatal.
    // A sandbox whose key comes late keeps its endpoints across keys (a key's release cut short by a crash after
    // the veth went is one way here): claimed again, it joins again once restore is done (Controller.restore).
    const late = x.sb.keyMode === 'late';
    await plumbLeave(deps, x.ep, x.sb, { keepClaim: late }).catch((err: unknown) => r.problems.push(`leave of ${x.ep.name} (${x.ep.network.name}) in ${x.sb.id}: ${why(err)}`));
    if (!late) await deps.core.deleteEndpoint(x.ep);
    r.leftEndpoints.push(`${x.ep.name} (${x.ep.network.name}) in ${x.sb.id}${late ? ', claimed again' : ''}`);
  }
}

/** Leaked veths on our bridges go (a crash between a kernel change and its state write); kept ones go back on a remade bridge. */
async function sweep(deps: RestoreDeps, nets: Map<string, Network>, r: RestoreReport): Promise<void> {
  // Every network at once (each touches only its own bridge's links): a driver may answer them from one kernel query.
  await Promise.all([...nets.values()].map(async (net) => {
    const keep = [...net.endpoints.values()].flatMap((e) => (e.joinInfo ? [e.joinInfo] : []));
    try {
      const done = await deps.drivers.get(net.driver).reconcileEndpoints(net.driverNetwork, keep);
      r.swept.push(...done.removed);
      r.reattached.push(...done.reattached);
    } catch (err) {
      r.problems.push(`sweep of ${net.name}: ${why(err)}`);
    }
  }));
}

/** Published ports, egress and isolation: each driver rebuilds its firewall state from the restored model in one go. */
async function restoreConnectivity(deps: RestoreDeps, state: PersistedState, nets: Map<string, Network>, r: RestoreReport): Promise<void> {
  // A driver whose saved networks were all undone or deleted still rebuilds (to nothing): an unfinished delete's rules go.
  const byDriver = new Map<string, Network[]>(state.networks.map((p) => [p.driver, []]));
  for (const net of nets.values()) {
    const list = byDriver.get(net.driver);
    if (list === undefined) byDriver.set(net.driver, [net]);
    else list.push(net);
  }
  for (const [name, list] of byDriver) {
    const endpoints = list.flatMap((net) => [...net.endpoints.values()].map((ep) => ({
      network: net.driverNetwork, endpointId: ep.id, ipv4: ep.ipv4, ipv6: ep.ipv6, portMappings: ep.portMappings, joined: ep.joinInfo !== undefined,
    })));
    try {
      await deps.drivers.get(name).restoreExternalConnectivity?.(list.map((n) => n.driverNetwork), endpoints);
    } catch (err) {
      r.problems.push(`firewall of ${name}: ${why(err)}`);
    }
  }
}

/** Restore `state` into the controller; every step is reported, a bad record is skipped, never fatal. */
export async function restoreState(deps: RestoreDeps, state: PersistedState): Promise<RestoreReport> {
  const started = performance.now();
  const r = emptyReport();
  const broken = new Map<string, Network>();
  const lostGateway = new Set<Sandbox>();
  const nets = await restoreNetworks(deps, state, r, broken);
  const sbs = await restoreSandboxes(deps, state, r);
  const joined: Joined[] = [];
  for (const p of state.endpoints) {
    try {
      const x = await restoreEndpoint(deps, p, nets, sbs, r, broken, lostGateway);
      if (x !== undefined) joined.push(x);
    } catch (err) {
      r.problems.push(`endpoint ${p.name}: ${why(err)}`);
    }
  }
  await settleJoins(deps, joined, r);
  // A sandbox whose gateway endpoint was dropped above (its network could not be made again, or its join never
  // finished) gets the default route on the first endpoint left that can carry it (L2), as a leave gives it.
  for (const sb of lostGateway) {
    if (![...sb.endpoints.values()].some((e) => e.gateway)) await moveGateway(deps, sb).catch((err: unknown) => void r.problems.push(`default route of ${sb.id}: ${why(err)}`));
  }
  // A listener needs only its namespace and the records (loaded above), not the bridges' ports or the firewall: it
  // starts while the sweep (one link dump) and the firewall rebuild (an nft child process) run.
  const kernel = (async () => {
    await sweep(deps, nets, r);
    await restoreConnectivity(deps, state, nets, r);
  })();
  await eachLimited([...sbs.values()], 8, (sb) => sb.resume().catch((err: unknown) => void r.problems.push(`listener of ${sb.id}: ${why(err)}`)));
  await kernel;
  r.networks = nets.size;
  r.sandboxes = sbs.size;
  r.endpoints = [...nets.values()].reduce((n, net) => n + net.endpoints.size, 0);
  r.ms = Math.round(performance.now() - started);
  return r;
}
