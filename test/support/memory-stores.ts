/**
 * Every store of shared/ports.ts in memory, for unit tests of the services. They follow the
 * Table storage adapters' contracts, failures included — the same contract suite
 * (test/support/store-contract.ts) runs against both: a conditional write with a stale ETag (or
 * a create of an existing record) writes nothing and returns null, every record read is a copy,
 * host names compare case-insensitively, audit entries list newest first.
 */
import { emptyLease, isTerminal } from '../../shared/model.js';
import type {
  AuditEntry,
  CcsRecord,
  CertificateRow,
  HostRecord,
  InventoryLease,
  OperationHostRecord,
  OperationRecord,
  OperationStatus,
} from '../../shared/model.js';
import type {
  AuditRepository,
  DesiredStateRepository,
  HostRepository,
  HostStep,
  InventoryRepository,
  OperationRepository,
  Stores,
  Versioned,
} from '../../shared/ports.js';
import type { HostError } from '../../shared/messages.js';
import { MemoryPublishingRepository } from './memory-publishing.js';

const copy = <T>(value: T): T => structuredClone(value);
let etags = 0;
const nextEtag = (): string => `W/"m${++etags}"`;

/** Records with ETags: the one primitive every conditional store below is made of. */
class VersionedMap<T> {
  private readonly rows = new Map<string, { record: T; etag: string }>();

  get(key: string): Versioned<T> | null {
    const row = this.rows.get(key);
    return row ? { record: copy(row.record), etag: row.etag } : null;
  }

  /** In key order, as a Table storage query returns rows in row-key order. */
  values(): T[] {
    return [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => copy(r.record));
  }

  keys(): string[] {
    return [...this.rows.keys()];
  }

  /** Create (`etag` null) or replace conditionally; null when the ETag is stale or the key exists. */
  write(key: string, record: T, etag: string | null): string | null {
    const row = this.rows.get(key);
    if (etag === null ? row !== undefined : row?.etag !== etag) return null;
    return this.put(key, record);
  }

  put(key: string, record: T): string {
    const next = nextEtag();
    this.rows.set(key, { record: copy(record), etag: next });
    return next;
  }

  delete(key: string): void {
    this.rows.delete(key);
  }
}

export class MemoryDesiredStateRepository implements DesiredStateRepository {
  readonly rows = new VersionedMap<CcsRecord>();
  get(ccsId: string) {
    return Promise.resolve(this.rows.get(ccsId));
  }
  list() {
    return Promise.resolve(this.rows.values());
  }
  save(record: CcsRecord, etag: string | null) {
    return Promise.resolve(this.rows.write(record.ccsId, record, etag));
  }
}

export class MemoryHostRepository implements HostRepository {
  readonly rows = new VersionedMap<HostRecord>();
  private key = (ccsId: string, host: string) => `${ccsId}/${host.toLowerCase()}`;
  get(ccsId: string, host: string) {
    return Promise.resolve(this.rows.get(this.key(ccsId, host))?.record ?? null);
  }
  list(ccsId: string) {
    return Promise.resolve(this.rows.values().filter((h) => h.ccsId === ccsId));
  }
  put(record: HostRecord) {
    this.rows.put(this.key(record.ccsId, record.host), record);
    return Promise.resolve();
  }
}

export class MemoryOperationRepository implements OperationRepository {
  readonly records = new VersionedMap<OperationRecord>();
  readonly active = new Set<string>();
  private readonly hostRows = new Map<string, Map<string, OperationHostRecord>>();

  private rowsOf(id: string): Map<string, OperationHostRecord> {
    let rows = this.hostRows.get(id);
    if (!rows) this.hostRows.set(id, (rows = new Map()));
    return rows;
  }

  create(operation: OperationRecord, hosts: OperationHostRecord[]) {
    for (const h of hosts) this.rowsOf(operation.id).set(h.host.toLowerCase(), copy(h));
    const etag = this.records.write(operation.id, operation, null);
    if (etag === null) return Promise.reject(new Error(`operation ${operation.id} exists`));
    if (!isTerminal(operation.status)) this.active.add(operation.id);
    return Promise.resolve(etag);
  }
  get(id: string) {
    return Promise.resolve(this.records.get(id));
  }
  save(operation: OperationRecord, etag: string) {
    const next = this.records.write(operation.id, operation, etag);
    if (next !== null && isTerminal(operation.status)) this.active.delete(operation.id);
    return Promise.resolve(next);
  }
  activeIds() {
    return Promise.resolve([...this.active]);
  }
  hosts(id: string) {
    const rows = [...(this.hostRows.get(id)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : 1));
    return Promise.resolve(rows.map(([, r]) => copy(r)));
  }
  host(id: string, host: string) {
    const row = this.hostRows.get(id)?.get(host.toLowerCase());
    return Promise.resolve(row ? copy(row) : null);
  }
  async hostsWhere(id: string, step: HostStep, status: OperationHostRecord['preflight'], max = Infinity) {
    return (await this.hosts(id)).filter((r) => r[step] === status).slice(0, max);
  }
  putHost(record: OperationHostRecord) {
    this.rowsOf(record.operationId).set(record.host.toLowerCase(), copy(record));
    return Promise.resolve();
  }
  setHostStep(
    id: string,
    host: string,
    step: HostStep,
    status: OperationHostRecord['preflight'],
    error: HostError | null | undefined,
    updatedAt: string,
  ) {
    const row = this.hostRows.get(id)?.get(host.toLowerCase());
    if (!row) return Promise.resolve(false);
    row[step] = status;
    row.updatedAt = updatedAt;
    if (error !== undefined) row.error = copy(error);
    return Promise.resolve(true);
  }
}

export class MemoryAuditRepository implements AuditRepository {
  readonly entries: AuditEntry[] = [];
  append(entry: AuditEntry) {
    this.entries.push(copy(entry));
    return Promise.resolve();
  }
  setStatus(entry: Pick<AuditEntry, 'operationId' | 'at'>, status: OperationStatus) {
    const found = this.entries.find((e) => e.operationId === entry.operationId && e.at === entry.at);
    if (found) found.status = status;
    return Promise.resolve();
  }
  list(query: { ccsId?: string; top: number }) {
    const newestFirst = [...this.entries].sort((a, b) => b.at.localeCompare(a.at));
    const matching = newestFirst.filter((e) => query.ccsId === undefined || e.ccsId === query.ccsId);
    return Promise.resolve(matching.slice(0, query.top).map(copy));
  }
}

export class MemoryInventoryRepository implements InventoryRepository {
  readonly leases = new VersionedMap<InventoryLease>();
  readonly certificates = new Map<string, CertificateRow>();
  private readonly receipts = new Map<string, Set<string>>();
  private key = (ccsId: string, id: string) => `${ccsId}/${id}`;

  getLease(ccsId: string) {
    const found = this.leases.get(ccsId);
    return Promise.resolve(
      found ? { lease: found.record, etag: found.etag } : { lease: emptyLease(ccsId), etag: null },
    );
  }
  saveLease(lease: InventoryLease, etag: string | null) {
    return Promise.resolve(this.leases.write(lease.ccsId, lease, etag));
  }
  listCertificates(ccsId: string) {
    return Promise.resolve([...this.certificates.values()].filter((r) => r.ccsId === ccsId).map(copy));
  }
  getCertificate(ccsId: string, id: string) {
    const row = this.certificates.get(this.key(ccsId, id));
    return Promise.resolve(row ? copy(row) : null);
  }
  private put(row: CertificateRow, tombstone: boolean): boolean {
    const existing = this.certificates.get(this.key(row.ccsId, row.id));
    const existingSeq = existing?.scanSeq ?? -1;
    if (tombstone ? existingSeq >= row.scanSeq : existingSeq > row.scanSeq) return false;
    this.certificates.set(this.key(row.ccsId, row.id), {
      ...copy(row),
      renamedFrom: row.renamedFrom ?? existing?.renamedFrom ?? null,
      firstSeen: existing && !existing.deleted ? existing.firstSeen : row.firstSeen,
    });
    return true;
  }
  putCertificates(rows: CertificateRow[]) {
    return Promise.resolve(rows.filter((row) => this.put(row, false)).length);
  }
  async removeCertificates(ccsId: string, ids: string[], scanSeq: number, at: string) {
    for (const id of ids) {
      const existing = await this.getCertificate(ccsId, id);
      if (existing && !existing.deleted)
        this.put({ ...existing, scanSeq, deleted: true, updatedAt: at }, true);
    }
  }
  async sweepAfterFullScan(ccsId: string, scanSeq: number, at: string, purgeBefore: string) {
    for (const row of await this.listCertificates(ccsId)) {
      if (!row.deleted && row.scanSeq < scanSeq)
        this.put({ ...row, scanSeq, deleted: true, updatedAt: at }, true);
      else if (row.deleted && row.updatedAt < purgeBefore) this.certificates.delete(this.key(ccsId, row.id));
    }
  }
  recordChunk(ccsId: string, scanSeq: number, index: number) {
    const key = `${ccsId}/${scanSeq}`;
    const chunks = this.receipts.get(key) ?? new Set<string>();
    chunks.add(String(index));
    this.receipts.set(key, chunks);
    return Promise.resolve(chunks.size);
  }
  dropReceiptsBefore(ccsId: string, scanSeq: number) {
    for (const key of [...this.receipts.keys()]) {
      const [id, seq] = key.split('/');
      if (id === ccsId && Number(seq) < scanSeq) this.receipts.delete(key);
    }
    return Promise.resolve();
  }
}

/** A fresh set of in-memory stores. */
export function memoryStores(): Stores & {
  desired: MemoryDesiredStateRepository;
  hosts: MemoryHostRepository;
  operations: MemoryOperationRepository;
  audit: MemoryAuditRepository;
  inventory: MemoryInventoryRepository;
  publishing: MemoryPublishingRepository;
} {
  return {
    desired: new MemoryDesiredStateRepository(),
    hosts: new MemoryHostRepository(),
    operations: new MemoryOperationRepository(),
    audit: new MemoryAuditRepository(),
    inventory: new MemoryInventoryRepository(),
    publishing: new MemoryPublishingRepository(),
  };
}
