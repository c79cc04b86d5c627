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
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { InventoryFile } from '../certificates/metadata.js';
import type { HostError } from '../messages.js';
import { ConcurrencyError } from '../errors.js';
import { hasStatus, type StorageClients } from './storage.js';

export const INVENTORY_TABLE = 'ccsinventory';

type Row = Record<string, unknown>;

export interface InventoryLease {
  ccsId: string;
  /** The elected scanner, or null until one is elected. */
  holder: string | null;
  /** The first scan issued to the current holder: older scans of it are fenced out. */
  holderSince: number;
  /** The last scan issued (0: none yet). */
  scanSeq: number;
  /** Whether `scanSeq` is a full scan. */
  full: boolean;
  /** The desired-state generation `scanSeq` was issued for. */
  generation: number;
  requestedAt: string | null;
  /** The last scan that reported (a scan is outstanding while `reportedSeq < scanSeq`). */
  reportedSeq: number;
  lastReportAt: string | null;
  /** The last full scan whose every chunk arrived, the generation it scanned, and when. */
  completedFullSeq: number;
  completedFullGeneration: number;
  lastFullAt: string | null;
  /** The file count of the last report. */
  files: number | null;
  lastError: HostError | null;
  /** Hosts passed over at the next election (they went silent or failed to scan). */
  excluded: string[];
}

export function emptyLease(ccsId: string): InventoryLease {
  return {
    ccsId,
    holder: null,
    holderSince: 0,
    scanSeq: 0,
    full: false,
    generation: 0,
    requestedAt: null,
    reportedSeq: 0,
    lastReportAt: null,
    completedFullSeq: 0,
    completedFullGeneration: 0,
    lastFullAt: null,
    files: null,
    lastError: null,
    excluded: [],
  };
}

export interface CertificateRow {
  ccsId: string;
  /** certificateIdOf(ccsId, file name). */
  id: string;
  /** The CCS path (as the API stores it) the file was scanned under. */
  path: string;
  scanSeq: number;
  deleted: boolean;
  file: InventoryFile;
  /** The file's previous name when the scanner saw it renamed. */
  renamedFrom: string | null;
  /** When the file was first inventoried under this id. */
  firstSeen: string;
  updatedAt: string;
}

const LEASE_KEY = 'lease';
const certKey = (id: string): string => `c:${id}`;
const receiptKey = (scanSeq: number, index: number): string =>
  `r:${String(scanSeq).padStart(12, '0')}:${String(index).padStart(6, '0')}`;

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(value: unknown): T => JSON.parse(String(value)) as T;

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
    renamedFrom: typeof row.renamedFrom === 'string' && row.renamedFrom ? row.renamedFrom : null,
    firstSeen: String(row.firstSeen),
    updatedAt: String(row.updatedAt),
  };
}

async function all<T>(iter: AsyncIterable<TableEntityResult<Row>>, map: (row: Row) => T): Promise<T[]> {
  const out: T[] = [];
  for await (const row of iter) out.push(map(row));
  return out;
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

export class InventoryRepository {
  private readonly table: TableClient;
  private ready: Promise<void> | undefined;

  constructor(storage: StorageClients) {
    this.table = storage.table(INVENTORY_TABLE);
  }

  ensureTable(): Promise<void> {
    this.ready ??= this.table.createTable().then(() => undefined);
    return this.ready;
  }

  // ── lease ────────────────────────────────────────────────────────────────────────────────
  async getLease(ccsId: string): Promise<{ lease: InventoryLease; etag: string | null }> {
    await this.ensureTable();
    try {
      const row = await this.table.getEntity<Row>(ccsId, LEASE_KEY);
      return { lease: toLease(row), etag: row.etag };
    } catch (error) {
      if (hasStatus(error, 404)) return { lease: emptyLease(ccsId), etag: null };
      throw error;
    }
  }

  /** Create (etag null) or replace conditionally; a lost race is a ConcurrencyError. */
  async saveLease(lease: InventoryLease, etag: string | null): Promise<void> {
    await this.ensureTable();
    const entity = { partitionKey: lease.ccsId, rowKey: LEASE_KEY, lease: json(lease) };
    try {
      if (etag === null) await this.table.createEntity(entity);
      else await this.table.updateEntity(entity, 'Replace', { etag });
    } catch (error) {
      if (hasStatus(error, 412) || hasStatus(error, 409)) throw new ConcurrencyError();
      throw error;
    }
  }

  // ── certificates ─────────────────────────────────────────────────────────────────────────
  async listCertificates(ccsId: string): Promise<CertificateRow[]> {
    await this.ensureTable();
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'c:' and RowKey lt 'c;'`;
    return all(this.table.listEntities<Row>({ queryOptions: { filter } }), toCertificate);
  }

  async getCertificate(ccsId: string, id: string): Promise<CertificateRow | null> {
    await this.ensureTable();
    try {
      return toCertificate(await this.table.getEntity<Row>(ccsId, certKey(id)));
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  /**
   * Write `rows` unless a newer scan already wrote them (conditional on each row's ETag; a lost
   * race is retried). Returns how many rows were written.
   */
  async putCertificates(rows: CertificateRow[]): Promise<number> {
    await this.ensureTable();
    let written = 0;
    await inBatches(rows, 16, async (row) => {
      if (await this.putCertificate(row)) written++;
    });
    return written;
  }

  /**
   * `tombstone`: the row is only replaced when an older scan wrote it (a removal or a sweep
   * never undoes what the same or a newer scan wrote); otherwise when no newer scan did.
   */
  private async putCertificate(row: CertificateRow, tombstone = false, attempt = 0): Promise<boolean> {
    const key = certKey(row.id);
    let existing: (Row & { etag: string }) | null = null;
    try {
      existing = await this.table.getEntity<Row>(row.ccsId, key);
    } catch (error) {
      if (!hasStatus(error, 404)) throw error;
    }
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
    try {
      if (existing) await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
      else await this.table.createEntity(entity);
      return true;
    } catch (error) {
      if ((hasStatus(error, 412) || hasStatus(error, 409)) && attempt < 5) {
        return this.putCertificate(row, tombstone, attempt + 1);
      }
      throw error;
    }
  }

  /** Tombstone the named rows (scan `scanSeq` saw them gone), unless a newer scan wrote them. */
  async removeCertificates(ccsId: string, ids: string[], scanSeq: number, at: string): Promise<void> {
    await this.ensureTable();
    await inBatches(ids, 16, async (id) => {
      const existing = await this.getCertificate(ccsId, id);
      if (!existing || existing.deleted) return;
      await this.putCertificate({ ...existing, scanSeq, deleted: true, updatedAt: at }, true);
    });
  }

  /**
   * After a full scan: every live row no scan since `scanSeq` wrote is a file that is gone
   * (tombstoned); tombstones older than `purgeBefore` are deleted for good.
   */
  async sweepAfterFullScan(ccsId: string, scanSeq: number, at: string, purgeBefore: string): Promise<void> {
    const rows = await this.listCertificates(ccsId);
    const stale = rows.filter((r) => !r.deleted && r.scanSeq < scanSeq);
    await inBatches(stale, 16, async (row) => {
      await this.putCertificate({ ...row, scanSeq, deleted: true, updatedAt: at }, true);
    });
    const purge = rows.filter((r) => r.deleted && r.updatedAt < purgeBefore);
    await inBatches(purge, 16, async (row) => {
      await this.table.deleteEntity(ccsId, certKey(row.id)).catch((error: unknown) => {
        if (!hasStatus(error, 404)) throw error;
      });
    });
  }

  // ── full-scan receipts ───────────────────────────────────────────────────────────────────
  /** Record that chunk `index` of full scan `scanSeq` was folded; returns how many of its chunks were. */
  async recordChunk(ccsId: string, scanSeq: number, index: number): Promise<number> {
    await this.ensureTable();
    await this.table.upsertEntity({ partitionKey: ccsId, rowKey: receiptKey(scanSeq, index) }, 'Replace');
    const prefix = `r:${String(scanSeq).padStart(12, '0')}:`;
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt ${prefix} and RowKey lt ${`${prefix}~`}`;
    const receipts = await all(
      this.table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }),
      (r) => r,
    );
    return receipts.length;
  }

  /** Drop the receipts of full scans before `scanSeq`. */
  async dropReceiptsBefore(ccsId: string, scanSeq: number): Promise<void> {
    const filter = odata`PartitionKey eq ${ccsId} and RowKey gt 'r:' and RowKey lt ${receiptKey(scanSeq, 0)}`;
    const keys = await all(
      this.table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }),
      (r) => String(r.rowKey),
    );
    await inBatches(keys, 16, async (key) => {
      await this.table.deleteEntity(ccsId, key).catch((error: unknown) => {
        if (!hasStatus(error, 404)) throw error;
      });
    });
  }
}
