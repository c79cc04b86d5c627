/**
 * Shares for the publisher tests: the real FolderShare on a scratch folder, wrapped so a test can
 * make an operation fail the way a Windows file server does (read-only, full) or make the
 * publisher "die": from a given operation on, everything rejects and nothing more reaches the
 * share — the folder stays exactly as a killed process left it.
 */
import type { FolderShare } from '../../agent/publish/share.js';
import { ShareError, type PublishShare, type ShareEntry } from '../../agent/publish/share.js';

export type ShareOperation = 'list' | 'read' | 'create' | 'replace' | 'remove';

/** Decides, per call, whether it fails and with which node:fs code (EROFS, ENOSPC…). */
export type FaultRule = (operation: ShareOperation, name: string, call: number) => string | undefined;

const KINDS: Record<string, ShareError['kind']> = { EROFS: 'read-only', EACCES: 'read-only', ENOSPC: 'full' };

export class FaultyShare implements PublishShare {
  private calls = 0;
  /** Set once the publisher has "died": every later call rejects without touching the folder. */
  private dead = false;
  readonly log: string[] = [];

  constructor(
    private readonly inner: FolderShare,
    private readonly rule: FaultRule = () => undefined,
    /** The publisher dies before the operation with this 1-based number. */
    private readonly dieAt = Infinity,
  ) {}

  private async gate<T>(operation: ShareOperation, name: string, work: () => Promise<T>): Promise<T> {
    const call = ++this.calls;
    if (this.dead || call >= this.dieAt) {
      this.dead = true;
      throw new Error('publisher died');
    }
    const code = this.rule(operation, name, call);
    if (code) throw new ShareError(KINDS[code] ?? 'other', operation, name, code);
    this.log.push(`${operation} ${name}`);
    return work();
  }

  list(): Promise<ShareEntry[]> {
    return this.gate('list', '.', () => this.inner.list());
  }
  read(name: string): Promise<Buffer> {
    return this.gate('read', name, () => this.inner.read(name));
  }
  create(name: string, bytes: Buffer): Promise<void> {
    return this.gate('create', name, () => this.inner.create(name, bytes));
  }
  replace(from: string, to: string): Promise<void> {
    return this.gate('replace', to, () => this.inner.replace(from, to));
  }
  remove(name: string): Promise<void> {
    return this.gate('remove', name, () => this.inner.remove(name));
  }
}
