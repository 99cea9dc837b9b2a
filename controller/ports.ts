/**
 * Published ports and interface statistics of endpoints (libnetwork's
 * CreateOptionPortMapping and libcontainer's NetworkStats), kept apart from
 * the controller's bookkeeping: the driver reserves host ports before an
 * endpoint exists, so a taken port is a 409 with nothing changed.
 */
import { InvalidOptionError } from '../common/errors.js';
import { canonicalIp } from '../common/ip.js';
import { PortAllocatedError, type DriverRegistry, type LinkCounters, type PortMapping, type PublishSpec } from '../drivers/index.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';

/**
 * Reserve host ports for a new endpoint `id` on `net`; throws ERR_INVALID_OPTION (an IPv6 host address on a network
 * without IPv6), ERR_PORT_ALLOCATED (naming the endpoint that holds the port, through `nameOf`), ERR_PORT_NO_FREE,
 * ERR_PORTS_UNAVAILABLE.
 */
export async function reservePorts(drivers: DriverRegistry, net: Network, id: string, publish: readonly PublishSpec[], nameOf?: (endpointId: string) => string | undefined): Promise<readonly PortMapping[]> {
  if (publish.length === 0) return [];
  // An IPv6 host address forwards to the endpoint's IPv6 address (N4): without one, the port would be held and never mapped.
  const v6 = publish.find((p) => p.hostIp?.includes(':') === true);
  // Nor is there a route_localnet for IPv6: the kernel never routes ::1 out of the host (Docker needs its proxy too).
  const loopback = publish.find((p) => p.hostIp !== undefined && canonicalIp(p.hostIp) === '::1');
  if (loopback !== undefined) throw new InvalidOptionError('publish', 'host address ::1 cannot be published (IPv6 has no route_localnet): publish on 127.0.0.1, or on an address of the host');
  if (v6 !== undefined && net.pool6 === undefined) {
    throw new InvalidOptionError('publish', `host address ${v6.hostIp} is IPv6 and network ${net.name} has no IPv6 subnet: publish on an IPv4 address (or none), or create the network with subnet6`);
  }
  const driver = drivers.get(net.driver);
  if (driver.reservePorts === undefined) throw new InvalidOptionError('publish', `driver ${net.driver} cannot publish ports`);
  // Without an IPv6 subnet, "every address" is every IPv4 one: nothing maps an IPv6 connection to the endpoint (no
  // userland proxy), so holding [::]:port and listing it would only promise a connection that is then reset.
  const families = net.pool6 === undefined ? publish.map((p) => (p.hostIp === undefined ? { ...p, hostIp: '0.0.0.0' } : p)) : publish;
  return driver.reservePorts(net.driverNetwork, id, families).catch((err: unknown) => {
    // The driver knows the holder by id only, which nothing else a user sees shows: name it.
    const d = err instanceof PortAllocatedError ? (err.details as { hostIp: string | null; hostPort: number; protocol: string; endpointId?: string }) : undefined;
    const name = d?.endpointId === undefined ? undefined : nameOf?.(d.endpointId);
    if (d === undefined || name === undefined) throw err;
    throw new PortAllocatedError(d.hostIp ?? undefined, d.hostPort, d.protocol, `published by ${name}`, d.endpointId);
  });
}

/** One interface's counters, seen from inside the sandbox. */
export interface InterfaceStats {
  network: string;
  ifname: string;
  counters: LinkCounters;
}

/** Counters of every joined interface of `sb` (an interface whose link is gone is left out). */
export async function sandboxStats(drivers: DriverRegistry, sb: Sandbox): Promise<InterfaceStats[]> {
  return (await allSandboxStats(drivers, [sb])).get(sb) ?? [];
}

/**
 * Counters of every joined interface of each of `sandboxes`, in endpoint
 * order, with one interfaceStats call per driver for all of them (the bridge
 * driver reads every host link in one dump, so a call per endpoint would make
 * a scrape O(N²) in the number of sandboxes). Throws what a driver throws,
 * unless `onDriverError` is given: then that driver's interfaces are left out
 * (a scrape keeps the other drivers' rows) and the error is handed to it.
 */
export async function allSandboxStats(drivers: DriverRegistry, sandboxes: readonly Sandbox[], onDriverError?: (driver: string, err: unknown) => void): Promise<Map<Sandbox, InterfaceStats[]>> {
  const joins = sandboxes.flatMap((sb) => [...sb.endpoints.values()].flatMap((ep) => (ep.joinInfo === undefined ? [] : [{ sb, ep, info: ep.joinInfo }])));
  const counters = new Map<(typeof joins)[number], LinkCounters>();
  for (const driver of new Set(joins.map((j) => j.ep.network.driver))) {
    const mine = joins.filter((j) => j.ep.network.driver === driver);
    let got: readonly (LinkCounters | undefined)[] = [];
    try {
      got = (await drivers.get(driver).interfaceStats?.(mine.map((j) => j.info))) ?? [];
    } catch (err) {
      if (onDriverError === undefined) throw err;
      onDriverError(driver, err);
    }
    mine.forEach((j, i) => got[i] !== undefined && counters.set(j, got[i]));
  }
  const out = new Map<Sandbox, InterfaceStats[]>(sandboxes.map((sb) => [sb, []]));
  for (const j of joins) {
    const c = counters.get(j);
    if (c !== undefined) out.get(j.sb)!.push({ network: j.ep.network.name, ifname: j.info.ifname, counters: c });
  }
  return out;
}
