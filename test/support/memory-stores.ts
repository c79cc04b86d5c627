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
  EnrolmentCodeRecord,
  HostKeyRecord,
  HostRecord,
  InventoryLease,
  OperationHostRecord,
  OperationRecord,
  OperationStatus,
  RateWindow,
} from '../../shared/model.js';
import type {
  AuditRepository,
  DesiredStateRepository,
  EnrolmentRepository,
  HostRepository,
  HostStep,
  HostStepWrite,
  InventoryRepository,
  OperationRepository,
  RateLimitRepository,
  Stores,
  TransactionOutcome,
  Versioned,
} from '../../shared/ports.js';
import { MAX_TRANSACTION_WRITES } from '../../shared/ports.js';
import type { CcsBinding, HostError } from '../../shared/messages.js';
import {
  SERVING_HISTORY,
  type BindingsHead,
  type BindingsPart,
  type ServingRecord,
} from '../../shared/bindings/model.js';
import type { BindingsRepository, RolloutPolicyRepository, ServingRepository } from '../../shared/ports.js';
import type { RolloutPolicy } from '../../shared/rollout/policy.js';
import { MemoryPublishingRepository } from './memory-publishing.js';

const copy = <T>(value: T): T => structuredClone(value);

/**
 * What Table storage refuses before running an entity-group transaction: more than 100
 * entities, an entity twice (400 InvalidDuplicateRow), more than one partition key
 * (learn.microsoft.com/azure/storage/tables/scalability-targets; Azurite answers the same).
 */
function checkTransaction(rowKeys: string[]): void {
  if (rowKeys.length > MAX_TRANSACTION_WRITES) {
    throw new RangeError(`a transaction takes at most ${MAX_TRANSACTION_WRITES} entities`);
  }
  if (new Set(rowKeys).size !== rowKeys.length) {
    throw new Error('InvalidDuplicateRow: an entity can appear only once in a transaction');
  }
}
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
  read(ccsId: string, host: string) {
    return Promise.resolve(this.rows.get(this.key(ccsId, host)));
  }
  /** All or nothing, as an entity-group transaction: every condition is checked before any write. */
  async writeAll(
    ccsId: string,
    writes: { record: HostRecord; etag: string | null }[],
  ): Promise<TransactionOutcome> {
    await Promise.resolve();
    if (writes.some((w) => w.record.ccsId !== ccsId)) throw new RangeError('a transaction writes one ccs-id');
    const keys = writes.map((w) => this.key(ccsId, w.record.host));
    checkTransaction(keys);
    const lost = writes.findIndex((w, i) => {
      const stored = this.rows.get(keys[i]!);
      return w.etag === null ? stored !== null : stored?.etag !== w.etag;
    });
    if (lost >= 0) return { lost };
    return { etags: writes.map((w, i) => this.rows.put(keys[i]!, w.record)) };
  }
}

export class MemoryOperationRepository implements OperationRepository {
  readonly records = new VersionedMap<OperationRecord>();
  readonly active = new Set<string>();
  private readonly hostRows = new Map<string, Map<string, OperationHostRecord>>();
  private readonly hostEtags = new Map<string, string>();

  private rowsOf(id: string): Map<string, OperationHostRecord> {
    let rows = this.hostRows.get(id);
    if (!rows) this.hostRows.set(id, (rows = new Map()));
    return rows;
  }

  create(operation: OperationRecord, hosts: OperationHostRecord[]) {
    for (const h of hosts) {
      this.rowsOf(operation.id).set(h.host.toLowerCase(), copy(h));
      this.touch(operation.id, h.host);
    }
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
    this.touch(record.operationId, record.host);
    return Promise.resolve();
  }
  getHost(id: string, host: string) {
    const row = this.hostRows.get(id)?.get(host.toLowerCase());
    const etag = this.hostEtags.get(this.hostKey(id, host));
    return Promise.resolve(row && etag ? { record: copy(row), etag } : null);
  }
  saveHost(record: OperationHostRecord, etag: string) {
    const key = this.hostKey(record.operationId, record.host);
    if (this.hostEtags.get(key) !== etag) return Promise.resolve(null);
    this.rowsOf(record.operationId).set(record.host.toLowerCase(), copy(record));
    return Promise.resolve(this.touch(record.operationId, record.host));
  }
  async getHosts(id: string) {
    const rows = await this.hosts(id);
    return rows.map((record) => ({ record, etag: this.hostEtags.get(this.hostKey(id, record.host))! }));
  }
  /** All or nothing, as an entity-group transaction: every condition is checked before any write. */
  async saveHosts(id: string, writes: Versioned<OperationHostRecord>[]): Promise<TransactionOutcome> {
    await Promise.resolve();
    if (writes.some((w) => w.record.operationId !== id))
      throw new RangeError('a transaction writes one operation');
    checkTransaction(writes.map((w) => w.record.host.toLowerCase()));
    const rows = this.rowsOf(id);
    const lost = writes.findIndex(
      (w) =>
        !rows.has(w.record.host.toLowerCase()) ||
        this.hostEtags.get(this.hostKey(id, w.record.host)) !== w.etag,
    );
    if (lost >= 0) return { lost };
    return {
      etags: writes.map((w) => {
        rows.set(w.record.host.toLowerCase(), copy(w.record));
        return this.touch(id, w.record.host);
      }),
    };
  }
  /** Every write of a host row gives it a new ETag, as Table storage does (Merge included). */
  private touch(id: string, host: string): string {
    const etag = nextEtag();
    this.hostEtags.set(this.hostKey(id, host), etag);
    return etag;
  }
  private hostKey(id: string, host: string): string {
    return `${id}|${host.toLowerCase()}`;
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
    this.touch(id, host);
    return Promise.resolve(true);
  }
  /** All or nothing, as an entity-group transaction: a missing row fails every write. */
  async setHostSteps(id: string, writes: HostStepWrite[]) {
    await Promise.resolve();
    checkTransaction(writes.map((w) => w.host.toLowerCase()));
    const rows = this.hostRows.get(id);
    const missing = writes.findIndex((w) => !rows?.has(w.host.toLowerCase()));
    if (missing >= 0) return { missing };
    for (const w of writes) {
      const row = rows!.get(w.host.toLowerCase())!;
      Object.assign(row, copy(w.steps), { updatedAt: w.updatedAt });
      if (w.error !== undefined) row.error = copy(w.error);
      this.touch(id, w.host);
    }
    return null;
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

export class MemoryBindingsRepository implements BindingsRepository {
  readonly headRows = new VersionedMap<BindingsHead>();
  readonly parts = new Map<string, BindingsPart>();
  private headKey = (ccsId: string, host: string) => `${ccsId}/${host.toLowerCase()}`;
  private partKey = (p: Pick<BindingsPart, 'ccsId' | 'host' | 'set' | 'index'>) =>
    `${p.ccsId}/${p.host.toLowerCase()}/${p.set}/${p.index}`;
  private partsOf(ccsId: string, host: string): BindingsPart[] {
    return [...this.parts.values()].filter(
      (p) => p.ccsId === ccsId && p.host.toLowerCase() === host.toLowerCase(),
    );
  }

  head(ccsId: string, host: string) {
    return Promise.resolve(this.headRows.get(this.headKey(ccsId, host)));
  }
  heads(ccsId: string) {
    return Promise.resolve(this.headRows.values().filter((h) => h.ccsId === ccsId));
  }
  saveHead(head: BindingsHead, etag: string | null) {
    return Promise.resolve(this.headRows.write(this.headKey(head.ccsId, head.host), head, etag));
  }
  putPart(part: BindingsPart) {
    this.parts.set(this.partKey(part), copy(part));
    return Promise.resolve();
  }
  countParts(ccsId: string, host: string, set: string) {
    return Promise.resolve(this.partsOf(ccsId, host).filter((p) => p.set === set).length);
  }
  readSet(ccsId: string, host: string, set: string, count: number) {
    const parts = this.partsOf(ccsId, host)
      .filter((p) => p.set === set && p.index < count)
      .sort((a, b) => a.index - b.index);
    if (parts.length !== count || parts.some((p, i) => p.index !== i)) return Promise.resolve(null);
    return Promise.resolve<CcsBinding[] | null>(parts.flatMap((p) => copy(p.bindings)));
  }
  dropParts(ccsId: string, host: string, keep: string | null, before: string) {
    for (const p of this.partsOf(ccsId, host)) {
      if (p.set !== keep && p.at <= before) this.parts.delete(this.partKey(p));
    }
    return Promise.resolve();
  }
}

export class MemoryEnrolmentRepository implements EnrolmentRepository {
  readonly hostKeys = new VersionedMap<HostKeyRecord>();
  readonly codes = new VersionedMap<EnrolmentCodeRecord>();
  private hostKey = (ccsId: string, host: string) => `${ccsId}/${host.toLowerCase()}`;
  getHostKey(ccsId: string, host: string) {
    return Promise.resolve(this.hostKeys.get(this.hostKey(ccsId, host)));
  }
  saveHostKey(record: HostKeyRecord, etag: string | null) {
    return Promise.resolve(this.hostKeys.write(this.hostKey(record.ccsId, record.host), record, etag));
  }
  listHostKeys(ccsId: string) {
    return Promise.resolve(this.hostKeys.values().filter((r) => r.ccsId === ccsId));
  }
  addCode(record: EnrolmentCodeRecord) {
    if (this.codes.write(`${record.ccsId}/${record.id}`, record, null) === null) {
      return Promise.reject(new Error(`code ${record.id} exists`));
    }
    return Promise.resolve();
  }
  activeCodes(ccsId: string, now: string) {
    const active = this.codes
      .keys()
      .sort()
      .map((key) => this.codes.get(key)!)
      .filter(({ record }) => record.ccsId === ccsId && record.usedAt === null && record.expiresAt > now);
    return Promise.resolve(active);
  }
  saveCode(record: EnrolmentCodeRecord, etag: string) {
    return Promise.resolve(this.codes.write(`${record.ccsId}/${record.id}`, record, etag));
  }
  pruneCodes(ccsId: string, before: string) {
    for (const key of this.codes.keys()) {
      const { record } = this.codes.get(key)!;
      if (record.ccsId === ccsId && record.expiresAt < before) this.codes.delete(key);
    }
    return Promise.resolve();
  }
}

/** As the table adapter: SERVING_HISTORY checks per host, newest generation first. */
export class MemoryServingRepository implements ServingRepository {
  readonly records: ServingRecord[] = [];
  private readonly latestRows = new Map<string, ServingRecord>();
  private same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

  put(record: ServingRecord) {
    const at = this.records.findIndex(
      (r) => r.ccsId === record.ccsId && this.same(r.host, record.host) && r.generation === record.generation,
    );
    if (at >= 0) this.records.splice(at, 1);
    this.records.push(copy(record));
    const key = `${record.ccsId}/${record.host.toLowerCase()}`;
    const latest = this.latestRows.get(key);
    const newer =
      !latest ||
      latest.generation < record.generation ||
      (latest.generation === record.generation && latest.at <= record.at);
    if (newer) this.latestRows.set(key, copy(record));
    const history = this.historyOf(record.ccsId, record.host);
    for (const old of history.slice(SERVING_HISTORY)) this.records.splice(this.records.indexOf(old), 1);
    return Promise.resolve();
  }
  private historyOf(ccsId: string, host: string): ServingRecord[] {
    return this.records
      .filter((r) => r.ccsId === ccsId && this.same(r.host, host))
      .sort((a, b) => b.generation - a.generation);
  }
  latest(ccsId: string, host: string, generation?: number) {
    if (generation === undefined) {
      const row = this.latestRows.get(`${ccsId}/${host.toLowerCase()}`);
      return Promise.resolve(row ? copy(row) : null);
    }
    const found = this.historyOf(ccsId, host).find((r) => r.generation <= generation);
    return Promise.resolve(found ? copy(found) : null);
  }
  latestOfEach(ccsId: string) {
    return Promise.resolve(
      [...this.latestRows.entries()]
        .filter(([, r]) => r.ccsId === ccsId)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, r]) => copy(r)),
    );
  }
  atGeneration(ccsId: string, generation: number) {
    return Promise.resolve(
      this.records
        .filter((r) => r.ccsId === ccsId && r.generation === generation)
        .sort((a, b) => (a.host.toLowerCase() < b.host.toLowerCase() ? -1 : 1))
        .map(copy),
    );
  }
}

export class MemoryRateLimitRepository implements RateLimitRepository {
  readonly windows = new VersionedMap<RateWindow>();
  get(scope: string, key: string) {
    return Promise.resolve(this.windows.get(`${scope}/${key}`));
  }
  save(window: RateWindow, etag: string | null) {
    return Promise.resolve(this.windows.write(`${window.scope}/${window.key}`, window, etag));
  }
}

/** Rollout policies, as the table adapter keeps them: one per ccs-id, the last put wins. */
export class MemoryRolloutPolicyRepository implements RolloutPolicyRepository {
  readonly rows = new Map<string, RolloutPolicy>();
  get(ccsId: string) {
    const row = this.rows.get(ccsId);
    return Promise.resolve(row ? copy(row) : null);
  }
  put(ccsId: string, policy: RolloutPolicy) {
    this.rows.set(ccsId, copy(policy));
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
  bindings: MemoryBindingsRepository;
  serving: MemoryServingRepository;
  enrolment: MemoryEnrolmentRepository;
  rateLimits: MemoryRateLimitRepository;
  rollouts: MemoryRolloutPolicyRepository;
  publishing: MemoryPublishingRepository;
} {
  return {
    desired: new MemoryDesiredStateRepository(),
    hosts: new MemoryHostRepository(),
    operations: new MemoryOperationRepository(),
    audit: new MemoryAuditRepository(),
    inventory: new MemoryInventoryRepository(),
    bindings: new MemoryBindingsRepository(),
    serving: new MemoryServingRepository(),
    enrolment: new MemoryEnrolmentRepository(),
    rateLimits: new MemoryRateLimitRepository(),
    rollouts: new MemoryRolloutPolicyRepository(),
    publishing: new MemoryPublishingRepository(),
  };
}
