/**
 * Reads files a few ahead of their use, in the order they will be asked for, so the file system
 * (on Windows, the SMB share) works on the next files while the CPU decrypts the current one.
 * Read one after the other, a full scan of 10,000 files waits for 10,000 reads it could have
 * overlapped (docs/performance.md).
 */
export class ReadAhead {
  private readonly pending = new Map<string, Promise<Buffer>>();
  private next = 0;

  /**
   * @param names   every name that will be taken, in the order it will be taken
   * @param readOne reads one file; its failure reaches whoever takes that name
   * @param depth   reads in flight at most (a few: memory holds that many files)
   */
  constructor(
    private readonly names: readonly string[],
    private readonly readOne: (name: string) => Promise<Buffer>,
    private readonly depth = 8,
  ) {}

  /** The bytes of `name` (read now when it was not among the names read ahead). */
  take(name: string): Promise<Buffer> {
    this.fill();
    const started = this.pending.get(name);
    this.pending.delete(name);
    const bytes = started ?? this.readOne(name);
    this.fill();
    return bytes;
  }

  private fill(): void {
    while (this.pending.size < this.depth && this.next < this.names.length) {
      const name = this.names[this.next++]!;
      if (this.pending.has(name)) continue;
      const read = this.readOne(name);
      // Not awaited until taken: a failure read ahead must not count as unhandled meanwhile.
      read.catch(() => undefined);
      this.pending.set(name, read);
    }
  }
}
