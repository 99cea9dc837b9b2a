/**
 * What is in progress now (exchanges, connections), for a close() that must
 * reach each of them: a doubly-linked list, not a Set.
 *
 * Why not a Set (or a Map): one that is added to and deleted from once per
 * request frees deleted entries only by rehashing into a new table, every
 * few hundred requests; once its table is in V8's old generation, the
 * abandoned table is dead but its old-to-new slots are still scanned as roots
 * by the scavenger, so everything in progress at each rehash (and all it
 * holds) survives and is promoted, to be freed only by the next mark-compact.
 * Under uncached forwarding that was 20-25 % of all allocation. A node taken
 * out of this list points at nothing, so nothing stale is left to scan.
 */

/** One entry; hold it to take the entry out again. */
export interface LiveNode<T> {
  value: T | undefined;
  prev: LiveNode<T> | undefined;
  next: LiveNode<T> | undefined;
}

/** The entries in progress, in the order they were added. */
export class LiveList<T> {
  readonly #head: LiveNode<T>;
  #size = 0;

  constructor() {
    const head: LiveNode<T> = { value: undefined, prev: undefined, next: undefined };
    head.prev = head;
    head.next = head;
    this.#head = head;
  }

  /** How many entries are in the list. */
  get size(): number {
    return this.#size;
  }

  /** Add `value` at the end; the node is for remove(). */
  add(value: T): LiveNode<T> {
    const head = this.#head;
    const node: LiveNode<T> = { value, prev: head.prev, next: head };
    head.prev!.next = node;
    head.prev = node;
    this.#size++;
    return node;
  }

  /** Take the entry out (once: a second call does nothing); the node then points at nothing. */
  remove(node: LiveNode<T>): void {
    if (node.prev === undefined) return;
    node.prev.next = node.next;
    node.next!.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.value = undefined;
    this.#size--;
  }

  /** The values now in the list, oldest first (a copy: removing while going through it is safe). */
  values(): T[] {
    const out: T[] = [];
    for (let n = this.#head.next!; n !== this.#head; n = n.next!) out.push(n.value as T);
    return out;
  }
}
