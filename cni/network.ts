/**
 * The sandns network of a configuration (pure): the API body that creates
 * it, the differences between an existing network and the config's keys
 * (code 7 when any), the addresses of a chained container taken from
 * prevResult, and runtimeConfig.portMappings as published ports.
 */
import { Address4, Address6 } from 'ip-address';
import type { PluginConfig, PortMapping } from './config.js';
import type { NetworkDescription } from './daemon.js';
import { CniConfigError } from './errors.js';
import { addressFamily, splitCidr } from './result.js';
import type { CniResult } from './spec.js';

/** One published port in the daemon's connect body (`publish`). */
export interface PublishSpec {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

/** The body of POST /networks for the main mode: the bridge driver with the config's keys. */
export function mainNetworkBody(config: PluginConfig): Record<string, unknown> {
  const k = config.network;
  const driverOptions = { ...(k.bridge === undefined ? {} : { bridgeName: k.bridge }), ...(k.mtu === undefined ? {} : { mtu: k.mtu }) };
  return {
    name: config.name, driver: 'bridge',
    ...(k.subnet === undefined ? {} : { subnet: k.subnet }),
    ...(k.gateway === undefined ? {} : { gateway: k.gateway }),
    ...(k.subnet6 === undefined ? {} : { subnet6: k.subnet6 }),
    ...(k.gateway6 === undefined ? {} : { gateway6: k.gateway6 }),
    ...(k.internal === undefined ? {} : { internal: k.internal }),
    ...(k.ttl === undefined ? {} : { ttl: k.ttl }),
    ...(Object.keys(driverOptions).length > 0 ? { driverOptions } : {}),
  };
}

function canonicalIp(ip: string): string {
  if (Address4.isValid(ip)) return new Address4(ip).correctForm();
  if (Address6.isValid(ip)) return new Address6(ip).correctForm();
  return ip;
}

function canonicalSubnet(cidr: string): string {
  return addressFamily(cidr) === undefined ? cidr : splitCidr(cidr).subnet;
}

/** What differs between an existing network and the config's keys ("subnet is 10.1.0.0/24, config says 10.2.0.0/24"). */
export function mainNetworkDifferences(net: NetworkDescription, config: PluginConfig): string[] {
  const k = config.network;
  const out: string[] = [];
  const differ = (key: string, have: unknown, want: unknown): void => {
    if (want !== undefined && have !== want) out.push(`${key} is ${JSON.stringify(have ?? null)}, the configuration says ${JSON.stringify(want)}`);
  };
  if (net.driver !== 'bridge') out.push(`driver is "${net.driver}": sandns does not manage this network's links, so it cannot be the first plugin of a list for it`);
  differ('subnet', net.subnet, k.subnet === undefined ? undefined : canonicalSubnet(k.subnet));
  differ('gateway', net.gateway, k.gateway === undefined ? undefined : canonicalIp(k.gateway));
  differ('subnet6', net.subnet6, k.subnet6 === undefined ? undefined : canonicalSubnet(k.subnet6));
  differ('gateway6', net.gateway6, k.gateway6 === undefined ? undefined : canonicalIp(k.gateway6));
  differ('internal', net.internal, k.internal);
  differ('ttl', net.ttl, k.ttl);
  differ('mtu', net.driverOptions?.mtu, k.mtu);
  differ('bridge', net.driverOptions?.bridgeName, k.bridge);
  return out;
}

/** One address of a chained container: the address, its subnet and the gateway prevResult gave. */
export interface ChainedAddress {
  address: string;
  subnet: string;
  gateway?: string;
}

/** The container's addresses on CNI_IFNAME from prevResult (entries without an interface index count too); an IPv4 one is required. */
export function chainedAddresses(prev: CniResult, ifname: string): { ipv4: ChainedAddress; ipv6?: ChainedAddress } {
  const ifs = prev.interfaces ?? [];
  const ours = (prev.ips ?? []).filter((ip) => {
    if (ip.interface === undefined) return true;
    const i = ifs[ip.interface];
    return i !== undefined && i.name === ifname && i.sandbox !== undefined && i.sandbox !== '';
  });
  const pick = (family: 4 | 6): ChainedAddress | undefined => {
    const ip = ours.find((x) => addressFamily(x.address) === family);
    if (ip === undefined) return undefined;
    const { address, subnet } = splitCidr(ip.address);
    return { address, subnet, ...(ip.gateway ? { gateway: ip.gateway } : {}) };
  };
  const ipv4 = pick(4);
  if (ipv4 === undefined) {
    throw new CniConfigError('prevResult.ips', `no IPv4 address for interface ${ifname}: sandns chained needs the previous plugin to give the container one (an IPAM such as host-local)`);
  }
  const ipv6 = pick(6);
  return ipv6 === undefined ? { ipv4 } : { ipv4, ipv6 };
}

/** The body of POST /networks for the chained mode: the `external` driver over prevResult's subnets. */
export function chainedNetworkBody(name: string, addr: { ipv4: ChainedAddress; ipv6?: ChainedAddress }): { subnet: string; subnet6?: string } & Record<string, unknown> {
  return {
    name, driver: 'external', subnet: addr.ipv4.subnet,
    ...(addr.ipv4.gateway ? { gateway: addr.ipv4.gateway } : {}),
    ...(addr.ipv6 ? { subnet6: addr.ipv6.subnet, ...(addr.ipv6.gateway ? { gateway6: addr.ipv6.gateway } : {}) } : {}),
  };
}

/** runtimeConfig.portMappings (CNI conventions) as the daemon's `publish` entries. */
export function publishOf(mappings: readonly PortMapping[]): PublishSpec[] {
  return mappings.map((m) => ({
    ...(m.hostIP === undefined ? {} : { hostIp: m.hostIP }),
    hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol,
  }));
}
