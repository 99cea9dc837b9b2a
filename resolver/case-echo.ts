/**
 * FS3 0x20 per server (draft-vixie-dnsext-dns0x20 §4; unbound's use-caps-for-id
 * and its fallback): forwarded names go out in random letter case and a reply
 * must echo it byte for byte. A server that does not echo case (some
 * middleboxes and old servers lowercase the question) is queried without
 * 0x20 for `offMs` after `strikes` mismatches with no echoing reply between
 * them; each mismatch is retried at once without 0x20 (fresh port and ID).
 * The state belongs to one sandbox's forwarder, so nothing another tenant
 * does (even a forged reply that hits port and ID) turns 0x20 off for others.
 */
import type { Clock } from '../common/clock.js';
import type { UpstreamServer } from './upstreams.js';

// Servers remembered at once; more (config churn only: ids come from configured servers) start afresh.
const MAX_TRACKED = 256;

/** Per-server 0x20 state of one forwarder. */
export class CaseEchoPolicy {
  readonly #clock: Clock;
  readonly #strikes: number;
  readonly #offMs: number;
  readonly #state = new Map<string, { misses: number; offUntil: number }>();

  /** `strikes` mismatches in a row turn 0x20 off for a server for `offMs` (defaults 3 and 10 min). */
  constructor(clock: Clock, strikes = 3, offMs = 600_000) {
    this.#clock = clock;
    this.#strikes = strikes;
    this.#offMs = offMs;
  }

  /** True when queries to `s` should use 0x20 now. */
  use(s: UpstreamServer): boolean {
    if (this.#state.size === 0) return true;
    const st = this.#state.get(s.id);
    if (st === undefined || st.offUntil === 0) return true;
    if (this.#clock.now() < st.offUntil) return false;
    this.#state.delete(s.id); // probe again
    return true;
  }

  /** `s` answered a 0x20 query with the case echoed. */
  echoed(s: UpstreamServer): void {
    if (this.#state.size !== 0) this.#state.delete(s.id);
  }

  /** `s` answered a 0x20 query without echoing case; returns true when 0x20 is now off for it. */
  mismatched(s: UpstreamServer): boolean {
    let st = this.#state.get(s.id);
    if (st === undefined) {
      if (this.#state.size >= MAX_TRACKED) this.#state.clear();
      st = { misses: 0, offUntil: 0 };
      this.#state.set(s.id, st);
    }
    if (++st.misses < this.#strikes) return false;
    st.offUntil = this.#clock.now() + this.#offMs;
    return true;
  }
}
