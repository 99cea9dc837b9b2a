/** Collects inverse steps of a multi-step operation and unwinds them on failure. */
export class UndoStack {
    #steps = [];
    #logger;
    constructor(logger) {
        this.#logger = logger;
    }
    /** Record the inverse of a step that just succeeded. */
    push(name, run) {
        this.#steps.push({ name, run });
    }
    /** Forget every recorded inverse (the operation committed). */
    commit() {
        this.#steps.length = 0;
    }
    /** Run every inverse in reverse order; errors are logged, never thrown. */
    async unwind() {
        while (this.#steps.length > 0) {
            const step = this.#steps.pop();
            try {
                await step.run();
            }
            catch (err) {
                this.#logger?.warn({ err, step: step.name }, 'undo step failed');
            }
        }
    }
    /** Run `fn` with this stack; unwind if it throws, commit if it returns. */
    async run(fn) {
        try {
            const result = await fn(this);
            this.commit();
            return result;
        }
        catch (err) {
            await this.unwind();
            throw err;
        }
    }
}
/** Run `fn` with a fresh UndoStack (commit on success, unwind on failure). */
export function withUndo(fn, logger) {
    return new UndoStack(logger).run(fn);
}
//# sourceMappingURL=undo.js.map