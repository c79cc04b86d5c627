/**
 * Table storage for publishing (table `ccspublish`, one partition per ccs-id):
 *
 * - `sources`: the sources set by `PUT …/sources`;
 * - `state`: Key Vault as last seen and the publish runs, written with its ETag so the timer, the
 *   Event Grid trigger and the report processor never lose each other's updates;
 * - `f:<file name, lower case>`: one row per file the publisher owns, stamped with the run that
 *   listed it (`seq`), so a late report of an older run never overwrites a newer one;
 * - `r:<seq>:<chunk>`: receipts of a run report's chunks, to know when all arrived.
 *
 * Sources and state can outgrow one property (1,000 sources), so they are split over several
 * (table-json-columns.ts). Nothing here is secret: names, versions, thumbprints.
 */
import { odata } from '@azure/data-tables';
import { eachLimited } from '../each-limited.js';
import type { PublishingRepository, Versioned } from '../ports.js';
import {
  emptyPublishState,
  type PublishedFileRecord,
  type PublishState,
  type SourcesRecord,
} from '../publishing/model.js';
import { jsonColumns, readJsonColumns } from './table-json-columns.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  type LazyTable,
  writeConditionally,
  type Row,
} from './table-support.js';

const SOURCES = 'sources';
const STATE = 'state';
const IN_FLIGHT = 16;
const fileKey = (file: string): string => `f:${file.toLowerCase()}`;
const seqKey = (seq: number): string => String(seq).padStart(12, '0');
const receiptKey = (seq: number, index: number): string =>
  `r:${seqKey(seq)}:${String(index).padStart(6, '0')}`;

function toFile(row: Row): PublishedFileRecord {
  return {
    ccsId: String(row.partitionKey),
    file: String(row.file),
    source: String(row.source),
    version: String(row.version),
    thumbprint: String(row.thumbprint),
    profile: row.profile === 'tripledes-sha1' ? 'tripledes-sha1' : 'aes256-sha256',
    passwordVersion: String(row.passwordVersion),
    seq: Number(row.seq),
    updatedAt: String(row.updatedAt),
  };
}

export class TablePublishingRepository implements PublishingRepository {
  /** `TABLE_NAMES.publishing` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async getSources(ccsId: string): Promise<Versioned<SourcesRecord> | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, SOURCES);
    return row ? { record: readJsonColumns<SourcesRecord>(row, 'sources'), etag: row.etag } : null;
  }

  async saveSources(record: SourcesRecord, etag: string | null): Promise<string | null> {
    const entity = { partitionKey: record.ccsId, rowKey: SOURCES, ...jsonColumns('sources', record) };
    return writeConditionally(await this.table.ready(), entity, etag);
  }

  async getState(ccsId: string): Promise<{ state: PublishState; etag: string | null }> {
    const row = await getOrNull(await this.table.ready(), ccsId, STATE);
    if (!row) return { state: emptyPublishState(ccsId), etag: null };
    return {
      state: { ...emptyPublishState(ccsId), ...readJsonColumns<Partial<PublishState>>(row, 'state') },
      etag: row.etag,
    };
  }

  async saveState(state: PublishState, etag: string | null): Promise<string | null> {
    const entity = { partitionKey: state.ccsId, rowKey: STATE, ...jsonColumns('state', state) };
    return writeConditionally(await this.table.ready(), entity, etag);
  }

  async listFiles(ccsId: string): Promise<PublishedFileRecord[]> {
    const table = await this.table.ready();
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'f:' and RowKey lt 'f;'`;
    return all(table.listEntities<Row>({ queryOptions: { filter } }), toFile);
  }

  async putFiles(rows: PublishedFileRecord[]): Promise<void> {
    const table = await this.table.ready();
    await eachLimited(rows, IN_FLIGHT, async (row) => {
      for (let attempt = 0; attempt <= 5; attempt++) {
        const existing = await getOrNull(table, row.ccsId, fileKey(row.file));
        if (existing && Number(existing.seq) > row.seq) return;
        const { ccsId, ...columns } = row;
        const entity = { partitionKey: ccsId, rowKey: fileKey(row.file), ...columns };
        if ((await writeConditionally(table, entity, existing?.etag ?? null)) !== null) return;
      }
      throw new Error('published file row kept changing under a write');
    });
  }

  async sweepFiles(ccsId: string, seq: number): Promise<void> {
    const table = await this.table.ready();
    const stale = (await this.listFiles(ccsId)).filter((f) => f.seq < seq);
    await eachLimited(stale, IN_FLIGHT, (f) => deleteIfExists(table, ccsId, fileKey(f.file)));
  }

  async recordChunk(ccsId: string, seq: number, index: number): Promise<number> {
    const table = await this.table.ready();
    await table.upsertEntity({ partitionKey: ccsId, rowKey: receiptKey(seq, index) }, 'Replace');
    const prefix = `r:${seqKey(seq)}:`;
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt ${prefix} and RowKey lt ${`${prefix}~`}`;
    const receipts = await all(
      table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }),
      (r) => r,
    );
    return receipts.length;
  }

  async dropReceiptsBefore(ccsId: string, seq: number): Promise<void> {
    const table = await this.table.ready();
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'r:' and RowKey lt ${receiptKey(seq, 0)}`;
    const keys = await all(table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }), (r) =>
      String(r.rowKey),
    );
    await eachLimited(keys, IN_FLIGHT, (key) => deleteIfExists(table, ccsId, key));
  }
}
