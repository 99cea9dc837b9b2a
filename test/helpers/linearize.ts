/**
 * A linearizability checker (Wing & Gong's search with Lowe's memoisation):
 * given a concurrent history (each operation's call and return time and its
 * observed result) and a sequential model, find a serial order that respects
 * real time (an operation that returned before another was called comes
 * first) in which the model gives every observed result. Operations whose
 * answer never came (the daemon was killed) may take effect anywhere after
 * their call, with any result, or not at all. `accept` checks the state the
 * order ends in against what is observed afterwards (the API's view).
 */

/** One operation of a history. */
export interface HistoryEntry<Op, Res> {
  readonly op: Op;
  readonly call: number;
  /** Infinity when no answer came. */
  readonly ret: number;
  /** undefined when no answer came. */
  readonly result: Res | undefined;
}

/** A sequential model: the states an operation may lead to, given its observed result (none: that result is impossible). */
export interface Model<State, Op, Res> {
  step(state: State, op: Op, result: Res | undefined): State[];
  key(state: State): string;
}

/** Find a serial order; returns the final state it leads to, or undefined when none exists. */
export function linearize<State, Op, Res>(
  history: readonly HistoryEntry<Op, Res>[], model: Model<State, Op, Res>, init: State, accept: (s: State) => boolean, budget = 2_000_000,
): { ok: true; final: State } | { ok: false; reason: string } {
  const n = history.length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let steps = 0;
  const completedLeft = (): number => history.reduce((c, h, i) => c + (done[i] === 0 && h.ret !== Infinity ? 1 : 0), 0);
  const search = (state: State, left: number): State | undefined => {
    if (++steps > budget) throw new Error('linearize: search budget exhausted');
    if (left === 0 && accept(state)) return state;
    const memo = `${Array.from(done).join('')}|${model.key(state)}`;
    if (seen.has(memo)) return undefined;
    seen.add(memo);
    // Candidates: not yet placed, and called before every unplaced operation returned.
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (done[i] === 0 && history[i]!.ret < minRet) minRet = history[i]!.ret;
    for (let i = 0; i < n; i++) {
      const h = history[i]!;
      if (done[i] !== 0 || h.call > minRet) continue;
      for (const next of model.step(state, h.op, h.result)) {
        done[i] = 1;
        const found = search(next, h.ret === Infinity ? left : left - 1);
        done[i] = 0;
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  const final = search(init, completedLeft());
  return final === undefined ? { ok: false, reason: `no serial order explains the ${n} operations (searched ${steps} steps)` } : { ok: true, final };
}
