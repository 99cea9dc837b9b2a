/**
 * An address pool over one subnet (L2): never hands an address out twice,
 * skips the network address, the gateway and (IPv4) the broadcast address.
 * Next-fit from a cursor, so allocation is O(1) amortised while the pool is
 * not nearly full.
 */
import { formatIp, parseCidr, parseIp, type IpFamily } from '../../common/ip.js';
import { AddressInUseError, AddressOutOfRangeError, InvalidSubnetError, PoolExhaustedError } from './errors.js';

type Family = IpFamily;

interface Parsed {
  family: Family;
  prefix: number;
  first: bigint; // network address
  last: bigint; // last address of the range
}

/**
 * Special-purpose blocks (RFC 6890) no container subnet may touch: the kernel
 * refuses IPv6 multicast and ::1 on a bridge (EINVAL, EADDRNOTAVAIL), and the
 * IPv4 ones it takes would give containers addresses that never route.
 */
const UNUSABLE: readonly { readonly block: Parsed; readonly text: string; readonly why: string }[] = [
  ['0.0.0.0/8', '"this network" (RFC 1122 §3.2.1.3)'],
  ['127.0.0.0/8', 'loopback (RFC 1122 §3.2.1.3)'],
  ['224.0.0.0/4', 'multicast (RFC 5771)'],
  ['::/127', 'the unspecified and loopback addresses (RFC 4291 §2.5.2-2.5.3)'],
  ['ff00::/8', 'multicast (RFC 4291 §2.7)'],
].map(([text, why]) => ({ block: parseCidr(text!)!, text: text!, why: why! }));

/** Parse a CIDR into its family, prefix and bounds, checking it leaves room for hosts; throws ERR_IPAM_INVALID_SUBNET. */
export function parseSubnet(cidr: string): Parsed & { cidr: string } {
  if (!cidr.includes('/')) throw new InvalidSubnetError(cidr, 'expected CIDR notation such as 10.89.0.0/24');
  const c = parseCidr(cidr);
  if (c === undefined) throw new InvalidSubnetError(cidr, 'not an IPv4 or IPv6 CIDR');
  const v4 = c.family === 4;
  const maxPrefix = v4 ? 30 : 126;
  if (c.prefix > maxPrefix) throw new InvalidSubnetError(cidr, `prefix /${c.prefix} leaves no room for hosts (at most /${maxPrefix})`);
  if (c.prefix < (v4 ? 8 : 48)) throw new InvalidSubnetError(cidr, `prefix /${c.prefix} is too large (at least /${v4 ? 8 : 48})`);
  for (const u of UNUSABLE) {
    if (u.block.family === c.family && c.first <= u.block.last && u.block.first <= c.last) {
      throw new InvalidSubnetError(cidr, `it overlaps ${u.text}, ${u.why}: choose a private range such as ${v4 ? '10.89.0.0/24' : 'fd00:89::/64'}`);
    }
  }
  return { family: c.family, prefix: c.prefix, first: c.first, last: c.last, cidr: c.text };
}

/** Parse one IP address of the given family to a bigint, or undefined if it is not one. */
function parseAddress(ip: string, family?: Family): bigint | undefined {
  const a = parseIp(ip);
  return a === undefined || (family !== undefined && a.family !== family) ? undefined : a.value;
}

/** Allocates host addresses of one subnet. */
export class AddressPool {
  readonly subnet: string;
  readonly family: Family;
  readonly prefix: number;
  readonly gateway: string;
  readonly #first: bigint;
  readonly #lowest: bigint;
  readonly #highest: bigint;
  readonly #gateway: bigint;
  readonly #used = new Set<bigint>();
  /** Dynamic allocation stays within these bounds (the whole host range, or --ip-range). */
  readonly #allocLow: bigint;
  readonly #allocHigh: bigint;
  /** The --ip-range dynamic addresses come from, if one was given. */
  readonly ipRange: string | undefined;
  #cursor: bigint;

  /** `ipRange`: a CIDR inside the subnet that dynamic allocation is limited to (Docker's `--ip-range`). */
  constructor(cidr: string, gateway?: string, ipRange?: string) {
    const p = parseSubnet(cidr);
    this.subnet = p.cidr;
    this.family = p.family;
    this.prefix = p.prefix;
    this.#first = p.first;
    this.#lowest = p.first + 1n;
    this.#highest = p.family === 4 ? p.last - 1n : p.last;
    const gw = gateway === undefined ? this.#lowest : parseAddress(gateway, p.family);
    if (gw === undefined) throw new InvalidSubnetError(gateway ?? '', `gateway is not an IPv${p.family} address`);
    if (gw < this.#lowest || gw > this.#highest) {
      throw new InvalidSubnetError(gateway ?? '', `gateway is not a host address of ${this.subnet}`);
    }
    this.#gateway = gw;
    this.gateway = formatIp(gw, p.family);
    this.#allocLow = this.#lowest;
    this.#allocHigh = this.#highest;
    this.ipRange = undefined;
    if (ipRange !== undefined) {
      const r = parseCidr(ipRange);
      if (r === undefined || r.family !== p.family) throw new InvalidSubnetError(ipRange, `ip range must be an IPv${p.family} CIDR`);
      if (r.first < p.first || r.last > p.last) throw new InvalidSubnetError(ipRange, `ip range must lie inside ${this.subnet}`);
      this.#allocLow = r.first > this.#lowest ? r.first : this.#lowest;
      this.#allocHigh = r.last < this.#highest ? r.last : this.#highest;
      if (this.#allocLow > this.#allocHigh) throw new InvalidSubnetError(ipRange, 'ip range holds no usable host address');
      this.ipRange = `${formatIp(r.first, p.family)}/${r.prefix}`;
    }
    this.#cursor = this.#allocLow;
  }

  /** Allocate `requested`, or the next free address. */
  allocate(requested?: string): string {
    if (requested !== undefined) return this.#take(requested);
    const size = this.#allocHigh - this.#allocLow + 1n;
    for (let i = 0n; i < size; i++) {
      const candidate = this.#cursor;
      this.#cursor = candidate >= this.#allocHigh ? this.#allocLow : candidate + 1n;
      if (candidate !== this.#gateway && !this.#used.has(candidate)) {
        this.#used.add(candidate);
        return formatIp(candidate, this.family);
      }
    }
    throw new PoolExhaustedError(this.ipRange ?? this.subnet);
  }

  /**
   * Mark `ip` as held elsewhere (a claim of another host in the cluster store,
   * docs/cluster.md M4). False when it is not a host address here or was
   * marked already.
   */
  reserve(ip: string): boolean {
    const v = parseAddress(ip, this.family);
    if (v === undefined || v < this.#lowest || v > this.#highest || v === this.#gateway || this.#used.has(v)) return false;
    this.#used.add(v);
    return true;
  }

  /**
   * Move the next-fit cursor to a random address of the allocation range (`ipRange`, else every host address): hosts
   * allocating at once rarely race for the same one (M4).
   */
  scatter(): void {
    const size = this.#allocHigh - this.#allocLow + 1n;
    const r = BigInt(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)) % size;
    this.#cursor = this.#allocLow + r;
  }

  /** Release an address; releasing a free address is a no-op. */
  release(ip: string): void {
    const v = parseAddress(ip, this.family);
    if (v !== undefined) this.#used.delete(v);
  }

  /** True when `ip` is allocated. */
  isAllocated(ip: string): boolean {
    const v = parseAddress(ip, this.family);
    return v !== undefined && this.#used.has(v);
  }

  /** Number of allocated addresses (the gateway is not counted). */
  get size(): number {
    return this.#used.size;
  }

  /** True when `ip` lies inside the subnet. */
  contains(ip: string): boolean {
    const v = parseAddress(ip, this.family);
    return v !== undefined && v >= this.#first && v <= this.#highest + (this.family === 4 ? 1n : 0n);
  }

  #take(requested: string): string {
    const v = parseAddress(requested, this.family);
    if (v === undefined) throw new AddressOutOfRangeError(requested, this.subnet, `not an IPv${this.family} address`);
    if (v < this.#lowest || v > this.#highest) {
      throw new AddressOutOfRangeError(requested, this.subnet, 'outside the usable host range');
    }
    if (v === this.#gateway) throw new AddressOutOfRangeError(requested, this.subnet, 'it is the gateway address');
    if (this.#used.has(v)) throw new AddressInUseError(requested, this.subnet);
    this.#used.add(v);
    return formatIp(v, this.family);
  }
}

/** True when two CIDRs overlap. */
export function subnetsOverlap(a: string, b: string): boolean {
  const pa = cidrBounds(a);
  const pb = cidrBounds(b);
  return pa !== undefined && pb !== undefined && pa.family === pb.family && pa.first <= pb.last && pb.first <= pa.last;
}

/** Bounds of any CIDR (no host-room rules) or single address, or undefined if it is neither. */
function cidrBounds(cidr: string): { family: Family; first: bigint; last: bigint } | undefined {
  const c = parseCidr(cidr);
  if (c !== undefined) return c;
  const a = parseIp(cidr);
  return a === undefined ? undefined : { family: a.family, first: a.value, last: a.value };
}
