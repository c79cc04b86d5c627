/**
 * A Map that keeps at most `max` entries: setting a key makes it the newest, and past `max` the
 * oldest is forgotten. For the per-process memories of what storage holds (rows with their
 * ETags, imported keys): a forgotten entry only costs a read.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) super.delete(this.keys().next().value!);
    return this;
  }
}
