/**
 * Coalesces calls per key: while a call for a key runs, later callers share one more call that
 * starts after it (and so sees everything done before they called); callers beyond that share
 * that one too. N calls during a run cost two runs, not N.
 */
export class Coalescer<T> {
  private readonly running = new Map<string, { done: Promise<unknown>; again?: Promise<T> }>();

  constructor(private readonly run: (key: string) => Promise<T>) {}

  call(key: string): Promise<T> {
    const current = this.running.get(key);
    if (current) {
      current.again ??= current.done.then(
        () => this.call(key),
        () => this.call(key),
      );
      return current.again;
    }
    const pass = this.run(key);
    const entry = { done: pass as Promise<unknown> };
    this.running.set(key, entry);
    const clear = () => {
      if (this.running.get(key) === entry) this.running.delete(key);
    };
    pass.then(clear, clear);
    return pass;
  }
}
