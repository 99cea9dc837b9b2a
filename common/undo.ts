/**
 * UndoStack: every acquire pushes its inverse; on failure the inverses run in
 * reverse order (STYLE G10).
 */
import type { Logger } from './log.js';

type Inverse = () => unknown;

/** Collects inverse steps of a multi-step operation and unwinds them on failure. */
export class UndoStack {
  readonly #steps: { name: string; run: Inverse }[] = [];
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /** Record the inverse of a step that just succeeded. */
  push(name: string, run: Inverse): void {
    this.#steps.push({ name, run });
  }

  /** Forget every recorded inverse (the operation committed). */
  commit(): void {
    this.#steps.length = 0;
  }

  /** Run every inverse in reverse order; errors are logged, never thrown. */
  async unwind(): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        this.#logger?.warn({ err, step: step.name }, 'undo step failed');
      }
    }
  }

  /** Run `fn` with this stack; unwind if it throws, commit if it returns. */
  async run<T>(fn: (undo: UndoStack) => Promise<T>): Promise<T> {
    try {
      const result = await fn(this);
      this.commit();
      return result;
    } catch (err) {
      await this.unwind();
      throw err;
    }
  }
}

/** Run `fn` with a fresh UndoStack (commit on success, unwind on failure). */
export function withUndo<T>(fn: (undo: UndoStack) => Promise<T>, logger?: Logger): Promise<T> {
  return new UndoStack(logger).run(fn);
}
