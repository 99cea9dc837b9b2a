/**
 * Firewall value types (pure): what the bridge driver asks of the firewall,
 * after libnetwork's `types.PortBinding` and `CreateOptionPortMapping`.
 */

/** A transport protocol a port can be published on. */
export type Protocol = 'tcp' | 'udp';

/**
 * A published port as asked (the API's `publish` entry, Docker's
 * `[HOST_IP:][HOST_PORT[-HOST_PORT_END]:]CONTAINER_PORT[/PROTO]`).
 * `hostPort` omitted → a free port of the daemon's range; `hostPort`..`hostPortEnd`
 * → the first free port of that range (Docker's `8000-8010:80`).
 */
export interface PublishSpec {
  /** Host address to publish on; omitted → every address of both families (`0.0.0.0` → IPv4 only, `::` → IPv6 only). */
  readonly hostIp?: string | undefined;
  readonly hostPort?: number | undefined;
  readonly hostPortEnd?: number | undefined;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

/** A published port as granted: the host port is fixed. */
export interface PortMapping {
  /** Canonical host address, or undefined for every address of both families. */
  readonly hostIp?: string | undefined;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

/** An exposed port (`CreateOptionExposedPorts`): advertised in SRV records, not published. */
export interface ExposedPort {
  readonly port: number;
  readonly protocol: Protocol;
}

/** What the firewall needs of a network. */
export interface FirewallNetwork {
  /** Network id (stable). */
  readonly id: string;
  /** Its Linux bridge. */
  readonly bridge: string;
  /** Internal: members reach only each other; no egress, no published ports. */
  readonly internal: boolean;
  /** Its IPv4 subnet (CIDR). */
  readonly subnet: string;
  /** Its IPv6 subnet (CIDR), if any: IPv6 forwarding is turned on for it. */
  readonly subnet6?: string | undefined;
}

/** What the firewall needs of a joined endpoint with published ports. */
export interface FirewallEndpoint {
  readonly endpointId: string;
  readonly networkId: string;
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  readonly mappings: readonly PortMapping[];
}

/** The inclusive range ephemeral host ports come from (Docker's default 49153–65535). */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** Docker's default ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range` is not consulted, as Docker 20.10). */
export const DEFAULT_PORT_RANGE: PortRange = Object.freeze({ first: 49153, last: 65535 });

/** The address families a mapping's host address covers. */
export function familiesOf(hostIp: string | undefined): readonly (4 | 6)[] {
  if (hostIp === undefined) return [4, 6];
  return hostIp.includes(':') ? [6] : [4];
}

/** True when the host address stands for every address of its family (or both). */
export function isWildcard(hostIp: string | undefined): boolean {
  return hostIp === undefined || hostIp === '0.0.0.0' || hostIp === '::';
}

/** `80/tcp -> 0.0.0.0:8080`, as `docker port` prints one mapping (one line per family for a dual wildcard). */
export function formatMapping(m: PortMapping): string[] {
  const left = `${m.containerPort}/${m.protocol} -> `;
  if (m.hostIp === undefined) return [`${left}0.0.0.0:${m.hostPort}`, `${left}[::]:${m.hostPort}`];
  return [m.hostIp.includes(':') ? `${left}[${m.hostIp}]:${m.hostPort}` : `${left}${m.hostIp}:${m.hostPort}`];
}
