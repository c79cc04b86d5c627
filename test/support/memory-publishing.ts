/**
 * The publishing store in memory, held to the Table storage adapter's contract by
 * test/support/store-contract.ts: conditional writes, case-insensitive file names, rows of an
 * older run never overwriting a newer one's.
 */
import type { PublishingRepository, Versioned } from '../../shared/ports.js';
import {
  emptyPublishState,
  type PublishedFileRecord,
  type PublishState,
  type SourcesRecord,
} from '../../shared/publishing/model.js';

const copy = <T>(value: T): T => structuredClone(value);
let etags = 0;
const nextEtag = (): string => `W/"p${++etags}"`;

export class MemoryPublishingRepository implements PublishingRepository {
  private readonly sources = new Map<string, Versioned<SourcesRecord>>();
  private readonly states = new Map<string, { state: PublishState; etag: string }>();
  readonly files = new Map<string, PublishedFileRecord>();
  private readonly receipts = new Map<string, Set<number>>();

  getSources(ccsId: string) {
    const found = this.sources.get(ccsId);
    return Promise.resolve(found ? copy(found) : null);
  }
  saveSources(record: SourcesRecord, etag: string | null) {
    const found = this.sources.get(record.ccsId);
    if (etag === null ? found !== undefined : found?.etag !== etag) return Promise.resolve(null);
    const next = nextEtag();
    this.sources.set(record.ccsId, { record: copy(record), etag: next });
    return Promise.resolve(next);
  }
  getState(ccsId: string) {
    const found = this.states.get(ccsId);
    return Promise.resolve(found ? copy(found) : { state: emptyPublishState(ccsId), etag: null });
  }
  saveState(state: PublishState, etag: string | null) {
    const found = this.states.get(state.ccsId);
    if (etag === null ? found !== undefined : found?.etag !== etag) return Promise.resolve(null);
    const next = nextEtag();
    this.states.set(state.ccsId, { state: copy(state), etag: next });
    return Promise.resolve(next);
  }
  private key = (ccsId: string, file: string) => `${ccsId}/${file.toLowerCase()}`;
  listFiles(ccsId: string) {
    return Promise.resolve(
      [...this.files.entries()]
        .filter(([, f]) => f.ccsId === ccsId)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, f]) => copy(f)),
    );
  }
  putFiles(rows: PublishedFileRecord[]) {
    for (const row of rows) {
      const existing = this.files.get(this.key(row.ccsId, row.file));
      if (!existing || existing.seq <= row.seq) this.files.set(this.key(row.ccsId, row.file), copy(row));
    }
    return Promise.resolve();
  }
  sweepFiles(ccsId: string, seq: number) {
    for (const [key, row] of [...this.files.entries()]) {
      if (row.ccsId === ccsId && row.seq < seq) this.files.delete(key);
    }
    return Promise.resolve();
  }
  recordChunk(ccsId: string, seq: number, index: number) {
    const key = `${ccsId}/${seq}`;
    const chunks = this.receipts.get(key) ?? new Set<number>();
    chunks.add(index);
    this.receipts.set(key, chunks);
    return Promise.resolve(chunks.size);
  }
  dropReceiptsBefore(ccsId: string, seq: number) {
    for (const key of [...this.receipts.keys()]) {
      const [id, n] = key.split('/');
      if (id === ccsId && Number(n) < seq) this.receipts.delete(key);
    }
    return Promise.resolve();
  }
}
