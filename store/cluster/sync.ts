/**
 * Sync state of the mirror (docs/cluster.md M6, M8): `synced` while etcd
 * answers and the watch is attached, `stale` (with the lag since the last
 * confirmation) otherwise, `connecting` before the first listing. Pure over
 * an injected clock.
 */
import type { Clock } from '../../common/clock.js';

/** The three states `sandns status` shows. */
export type SyncPhase = 'connecting' | 'synced' | 'stale';

/** Tracks reachability and the mirror's lag. */
export class SyncState {
  readonly #clock: Clock;
  #phase: SyncPhase = 'connecting';
  #confirmedAt: number | undefined;
  #lastError: string | undefined;
  /** Number of times the watch was lost and attached again. */
  watchReconnects = 0;
  /** Number of full re-lists (start, compaction, resync after a gap). */
  relists = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get phase(): SyncPhase {
    return this.#phase;
  }

  /** True when global operations may go to etcd. */
  get available(): boolean {
    return this.#phase === 'synced';
  }

  #misses = 0;

  /** etcd answered and the mirror is current. */
  confirm(): void {
    this.#misses = 0;
    this.#phase = 'synced';
    this.#confirmedAt = this.#clock.now();
    this.#lastError = undefined;
  }

  /** etcd failed to answer (or the watch dropped). Returns true when this is a change to stale. */
  fail(reason: string): boolean {
    this.#lastError = reason;
    const was = this.#phase;
    if (was === 'synced') this.#phase = 'stale';
    return was === 'synced';
  }

  /**
   * etcd answered too slowly (a deadline, not a refusal): stale only after
   * `limit` in a row, so a loaded machine is not mistaken for a partition.
   * Returns true when this is a change to stale.
   */
  miss(reason: string, limit = 2): boolean {
    this.#misses++;
    return this.#misses >= limit ? this.fail(reason) : false;
  }

  /** ms since etcd last confirmed the mirror current (below the probe interval while synced; undefined before the first sync). */
  lagMs(): number | undefined {
    if (this.#confirmedAt === undefined) return undefined;
    return Math.round(this.#clock.now() - this.#confirmedAt);
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }
}
