/**
 * Host port bookkeeping (pure; libnetwork's portallocator): which host
 * address/port/protocol each endpoint holds. Claims are synchronous (G11), so
 * concurrent connects never get the same ephemeral port. Two mappings clash
 * when their protocol and port are equal, their families overlap and either
 * address is a wildcard or both are the same address (Docker's rule).
 */
import { familiesOf, isWildcard, type PortRange, type Protocol } from './types.js';

interface Claim {
  readonly hostIp: string | undefined;
  readonly owner: string;
}

function clash(a: string | undefined, b: string | undefined): boolean {
  if (!familiesOf(a).some((f) => familiesOf(b).includes(f))) return false;
  return isWildcard(a) || isWildcard(b) || a === b;
}

/** The host ports held by sandns. */
export class PortBook {
  readonly #claims = new Map<string, Claim[]>();
  readonly #cursor = new Map<Protocol, number>();

  /** The owner holding a port that clashes with this one, if any. */
  holder(hostIp: string | undefined, port: number, protocol: Protocol): string | undefined {
    return this.#claims.get(`${protocol}/${port}`)?.find((c) => clash(c.hostIp, hostIp))?.owner;
  }

  /** Claim a port for `owner`; false when it clashes with a held one. */
  claim(owner: string, hostIp: string | undefined, port: number, protocol: Protocol): boolean {
    if (this.holder(hostIp, port, protocol) !== undefined) return false;
    const key = `${protocol}/${port}`;
    this.#claims.set(key, [...(this.#claims.get(key) ?? []), { hostIp, owner }]);
    return true;
  }

  /** Give a claim back (idempotent). */
  release(owner: string, hostIp: string | undefined, port: number, protocol: Protocol): void {
    const key = `${protocol}/${port}`;
    const rest = (this.#claims.get(key) ?? []).filter((c) => !(c.owner === owner && c.hostIp === hostIp));
    if (rest.length === 0) this.#claims.delete(key);
    else this.#claims.set(key, rest);
  }

  /**
   * Ephemeral candidates: every port of `range` once, starting after the last one handed out (as Docker's
   * allocator, so a port just released is not reused at once).
   */
  *candidates(range: PortRange, protocol: Protocol): Generator<number> {
    const size = range.last - range.first + 1;
    const start = this.#cursor.get(protocol) ?? range.first;
    for (let i = 0; i < size; i++) {
      const p = range.first + ((start - range.first + i + size) % size);
      this.#cursor.set(protocol, p + 1 > range.last ? range.first : p + 1);
      yield p;
    }
  }

  /** How many claims are held (metrics, tests). */
  get size(): number {
    let n = 0;
    for (const list of this.#claims.values()) n += list.length;
    return n;
  }
}
