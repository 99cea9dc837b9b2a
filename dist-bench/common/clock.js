/**
 * Clock: injected wherever time matters (timeouts, TTLs, cool-downs) so tests
 * can use a fake (STYLE G12).
 */
/** The real clock: performance.now() and the global timers. */
export const systemClock = {
    now: () => performance.now(),
    setTimeout(fn, ms) {
        const t = setTimeout(fn, ms);
        t.unref?.();
        return () => clearTimeout(t);
    },
};
/** A manual clock for tests: time moves only through advance(). */
export class FakeClock {
    #now;
    #timers = [];
    #nextId = 0;
    constructor(start = 0) {
        this.#now = start;
    }
    now() {
        return this.#now;
    }
    setTimeout(fn, ms) {
        const id = this.#nextId++;
        this.#timers.push({ at: this.#now + ms, fn, id });
        return () => {
            this.#timers = this.#timers.filter((t) => t.id !== id);
        };
    }
    /** Move time forward, firing due timers in order. */
    advance(ms) {
        const target = this.#now + ms;
        for (;;) {
            this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
            const next = this.#timers[0];
            if (next === undefined || next.at > target)
                break;
            this.#timers.shift();
            this.#now = next.at;
            next.fn();
        }
        this.#now = target;
    }
}
//# sourceMappingURL=clock.js.map