/**
 * Group commit per key: items added while a flush of their key is in flight wait for the next
 * flush, which takes them all (up to `max`) at once. The queue trigger folds a batch of reports
 * concurrently; the writes they make to one partition (a ccs-id's host rows, an operation's host
 * rows) then reach storage as a few entity-group transactions instead of one request each. No
 * timer: the first item of a key is flushed once the event loop has run what was ready with it
 * (setImmediate), and the next flush starts as soon as the previous one ends — the busier the
 * partition, the larger the groups.
 */
export class GroupCommit<T, R> {
  private readonly waiting = new Map<
    string,
    { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[]
  >();
  private readonly flushing = new Set<string>();

  constructor(
    /** Write `items` (all of one key); one result per item, in order. Throwing fails them all. */
    private readonly flush: (key: string, items: T[]) => Promise<R[]>,
    private readonly max: number,
  ) {}

  add(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push({ item, resolve, reject });
      else this.waiting.set(key, [{ item, resolve, reject }]);
      if (!this.flushing.has(key)) this.start(key);
    });
  }

  private start(key: string): void {
    this.flushing.add(key);
    setImmediate(() => void this.run(key));
  }

  private async run(key: string): Promise<void> {
    const queue = this.waiting.get(key) ?? [];
    const taken = queue.splice(0, this.max);
    if (queue.length === 0) this.waiting.delete(key);
    try {
      const results = await this.flush(
        key,
        taken.map((t) => t.item),
      );
      taken.forEach((t, i) => t.resolve(results[i]!));
    } catch (error) {
      for (const t of taken) t.reject(error);
    }
    this.flushing.delete(key);
    if (this.waiting.has(key)) this.start(key);
  }
}
