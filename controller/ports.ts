/**
 * Published ports and interface statistics of endpoints (libnetwork's
 * CreateOptionPortMapping and libcontainer's NetworkStats), kept apart from
 * the controller's bookkeeping: the driver reserves host ports before an
 * endpoint exists, so a taken port is a 409 with nothing changed.
 */
import { InvalidOptionError } from '../common/errors.js';
import { canonicalIp } from '../common/ip.js';
import type { DriverRegistry, LinkCounters, PortMapping, PublishSpec } from '../drivers/index.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';

/** Reserve host ports for a new endpoint `id` on `net`; throws ERR_INVALID_OPTION (an IPv6 host address on a network without IPv6), ERR_PORT_ALLOCATED, ERR_PORT_NO_FREE, ERR_PORTS_UNAVAILABLE. */
export async function reservePorts(drivers: DriverRegistry, net: Network, id: string, publish: readonly PublishSpec[]): Promise<readonly PortMapping[]> {
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
  return driver.reservePorts(net.driverNetwork, id, publish);
}

/** One interface's counters, seen from inside the sandbox. */
export interface InterfaceStats {
  network: string;
  ifname: string;
  counters: LinkCounters;
}

/** Counters of every joined interface of `sb` (an interface whose link is gone is left out). */
export async function sandboxStats(drivers: DriverRegistry, sb: Sandbox): Promise<InterfaceStats[]> {
  const out: InterfaceStats[] = [];
  for (const ep of sb.endpoints.values()) {
    if (ep.joinInfo === undefined) continue;
    const [counters] = (await drivers.get(ep.network.driver).interfaceStats?.([ep.joinInfo])) ?? [];
    if (counters !== undefined) out.push({ network: ep.network.name, ifname: ep.joinInfo.ifname, counters });
  }
  return out;
}
