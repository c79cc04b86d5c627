/**
 * Table storage for the certificate inventory (table `ccsinventory`, one partition per ccs-id):
 *
 * - `lease`: the scanner election of the ccs-id (who scans, which scan is outstanding), written
 *   with its ETag so the scheduler and the report processor never lose each other's updates;
 * - `c:<certificate id>`: one row per file of the share, stamped with the scan that wrote it
 *   (`scanSeq`): a write from an older scan never overwrites a newer one, and a removed file is
 *   a tombstone (so a late, older upsert cannot bring it back) until it is purged;
 * - `r:<scanSeq>:<chunk>`: receipts of a full scan's chunks, to know when all arrived.
 *
 * Rows hold metadata only (shared/certificates/metadata.ts): never key material or PFX bytes.
 */
import { odata } from '@azure/data-tables';
import type { InventoryFile } from '../certificates/metadata.js';
import { eachLimited } from '../each-limited.js';
import { emptyLease, type CertificateRow, type InventoryLease } from '../model.js';
import type { InventoryRepository } from '../ports.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  json,
  type LazyTable,
  parse,
  textOrNull,
  writeConditionally,
  type Row,
} from './table-support.js';

const LEASE_KEY = 'lease';
/** Certificate rows written or read at once. */
const IN_FLIGHT = 16;
const certKey = (id: string): string => `c:${id}`;
const receiptKey = (scanSeq: number, index: number): string =>
  `r:${String(scanSeq).padStart(12, '0')}:${String(index).padStart(6, '0')}`;

function toLease(row: Row): InventoryLease {
  return { ...emptyLease(String(row.partitionKey)), ...parse<Partial<InventoryLease>>(row.lease) };
}

function toCertificate(row: Row): CertificateRow {
  return {
    ccsId: String(row.partitionKey),
    id: String(row.rowKey).slice(2),
    path: String(row.path),
    scanSeq: Number(row.scanSeq),
    deleted: row.deleted === true,
    file: parse<InventoryFile>(row.file),
    renamedFrom: textOrNull(row.renamedFrom),
    firstSeen: String(row.firstSeen),
    updatedAt: String(row.updatedAt),
  };
}

export class TableInventoryRepository implements InventoryRepository {
  /** `TABLE_NAMES.inventory` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  // ── lease ────────────────────────────────────────────────────────────────────────────────
  async getLease(ccsId: string): Promise<{ lease: InventoryLease; etag: string | null }> {
    const row = await getOrNull(await this.table.ready(), ccsId, LEASE_KEY);
    return row ? { lease: toLease(row), etag: row.etag } : { lease: emptyLease(ccsId), etag: null };
  }

  async saveLease(lease: InventoryLease, etag: string | null): Promise<string | null> {
    const entity = { partitionKey: lease.ccsId, rowKey: LEASE_KEY, lease: json(lease) };
    return writeConditionally(await this.table.ready(), entity, etag);
  }

  // ── certificates ─────────────────────────────────────────────────────────────────────────
  async listCertificates(ccsId: string): Promise<CertificateRow[]> {
    const table = await this.table.ready();
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'c:' and RowKey lt 'c;'`;
    return all(table.listEntities<Row>({ queryOptions: { filter } }), toCertificate);
  }

  async getCertificate(ccsId: string, id: string): Promise<CertificateRow | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, certKey(id));
    return row ? toCertificate(row) : null;
  }

  /** Conditional on each row's ETag; a lost race is retried. */
  async putCertificates(rows: CertificateRow[]): Promise<number> {
    let written = 0;
    await eachLimited(rows, IN_FLIGHT, async (row) => {
      if (await this.putCertificate(row)) written++;
    });
    return written;
  }

  /**
   * `tombstone`: the row is only replaced when an older scan wrote it (a removal or a sweep
   * never undoes what the same or a newer scan wrote); otherwise when no newer scan did.
   */
  private async putCertificate(row: CertificateRow, tombstone = false): Promise<boolean> {
    const table = await this.table.ready();
    const key = certKey(row.id);
    for (let attempt = 0; attempt <= 5; attempt++) {
      const existing = await getOrNull(table, row.ccsId, key);
      const existingSeq = existing ? Number(existing.scanSeq) : -1;
      if (tombstone ? existingSeq >= row.scanSeq : existingSeq > row.scanSeq) return false;
      const previous = existing ? toCertificate(existing) : null;
      const entity = {
        partitionKey: row.ccsId,
        rowKey: key,
        path: row.path,
        scanSeq: row.scanSeq,
        deleted: row.deleted,
        file: json(row.file),
        renamedFrom: row.renamedFrom ?? previous?.renamedFrom ?? '',
        // A file that was removed and came back is new again.
        firstSeen: previous && !previous.deleted ? previous.firstSeen : row.firstSeen,
        updatedAt: row.updatedAt,
      };
      if ((await writeConditionally(table, entity, existing?.etag ?? null)) !== null) return true;
    }
    throw new Error('inventory row kept changing under a write');
  }

  async removeCertificates(ccsId: string, ids: string[], scanSeq: number, at: string): Promise<void> {
    await eachLimited(ids, IN_FLIGHT, async (id) => {
      const existing = await this.getCertificate(ccsId, id);
      if (!existing || existing.deleted) return;
      await this.putCertificate({ ...existing, scanSeq, deleted: true, updatedAt: at }, true);
    });
  }

  async sweepAfterFullScan(ccsId: string, scanSeq: number, at: string, purgeBefore: string): Promise<void> {
    const table = await this.table.ready();
    const rows = await this.listCertificates(ccsId);
    const stale = rows.filter((r) => !r.deleted && r.scanSeq < scanSeq);
    await eachLimited(stale, IN_FLIGHT, async (row) => {
      await this.putCertificate({ ...row, scanSeq, deleted: true, updatedAt: at }, true);
    });
    const purge = rows.filter((r) => r.deleted && r.updatedAt < purgeBefore);
    await eachLimited(purge, IN_FLIGHT, (row) => deleteIfExists(table, ccsId, certKey(row.id)));
  }

  // ── full-scan receipts ───────────────────────────────────────────────────────────────────
  async recordChunk(ccsId: string, scanSeq: number, index: number): Promise<number> {
    const table = await this.table.ready();
    await table.upsertEntity({ partitionKey: ccsId, rowKey: receiptKey(scanSeq, index) }, 'Replace');
    const prefix = `r:${String(scanSeq).padStart(12, '0')}:`;
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt ${prefix} and RowKey lt ${`${prefix}~`}`;
    const receipts = await all(
      table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }),
      (r) => r,
    );
    return receipts.length;
  }

  async dropReceiptsBefore(ccsId: string, scanSeq: number): Promise<void> {
    const table = await this.table.ready();
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'r:' and RowKey lt ${receiptKey(scanSeq, 0)}`;
    const keys = await all(table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }), (r) =>
      String(r.rowKey),
    );
    await eachLimited(keys, IN_FLIGHT, (key) => deleteIfExists(table, ccsId, key));
  }
}
