/**
 * Published ports and interface statistics of endpoints (libnetwork's
 * CreateOptionPortMapping and libcontainer's NetworkStats), kept apart from
 * the controller's bookkeeping: the driver reserves host ports before an
 * endpoint exists, so a taken port is a 409 with nothing changed.
 */
import { InvalidOptionError } from '../common/errors.js';
import type { DriverRegistry, LinkCounters, PortMapping, PublishSpec } from '../drivers/index.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';

/** Reserve host ports for a new endpoint `id` on `net`; throws ERR_PORT_ALLOCATED, ERR_PORT_NO_FREE, ERR_PORTS_UNAVAILABLE. */
export async function reservePorts(drivers: DriverRegistry, net: Network, id: string, publish: readonly PublishSpec[]): Promise<readonly PortMapping[]> {
  if (publish.length === 0) return [];
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
