/**
 * The certificate inventory behind `/api/certificates` (docs/certificates.md):
 *
 * - Election, API-side: agents have no table rights (infra/app/rbac.bicep), so the lease lives
 *   in the API's table and the API tells the elected host to scan with a `scan` command. One
 *   scan per ccs-id per interval, whatever the size of the fleet. When the scanner leaves a
 *   scan unanswered for two intervals (or reports that it could not scan), the lease passes to
 *   the most recently seen other host that applied the current desired state, with a full scan.
 * - Folding: only the current holder's scans count (`scanSeq` fences late or foreign reports);
 *   rows are stamped with the scan that wrote them, deltas upsert and tombstone, and a full
 *   scan, once all its chunks arrived, tombstones what it did not list.
 * - Reading: a store per enabled ccs-id; the certificates scanned under the current path, with
 *   the problems of shared/certificates/rules.ts computed at read time.
 */
import {
  storeIdOf,
  certificateIdOf,
  expiresInDays,
  problemsOf,
  windowsBuild,
} from '../certificates/rules.js';
import { PBES2_MIN_WINDOWS_BUILD, type Problem } from '../certificates/rules.js';
import { MESSAGE_VERSION, type InventoryReport, type ScanCommand } from '../messages.js';
import type { CcsRecord, CertificateRow, HostRecord, InventoryLease } from '../model.js';
import type { Clock, CommandBus, Stores } from '../ports.js';
import type { Logger } from '../log.js';
import { ConcurrencyError } from '../errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface InventoryOptions {
  /** How often the elected host scans; it is handed over after two silent intervals. */
  intervalSeconds: number;
  /** Days before expiry from which a certificate has the `expiring` problem. */
  warningDays: number;
  /** A full scan at least this often, so anything a lost report left behind heals. Default: a day. */
  fullScanEverySeconds?: number;
}

export interface ScanDecision {
  lease: InventoryLease;
  host: string;
  scanSeq: number;
  full: boolean;
}

const sameHost = (a: string | null, b: string | null): boolean =>
  a !== null && b !== null && a.toLowerCase() === b.toLowerCase();

const ago = (now: number, iso: string | null): number => (iso ? now - Date.parse(iso) : Infinity);

/**
 * The scheduling rule, pure: whether `record`'s inventory needs a scan now, and from whom.
 * Candidates are hosts that applied the current generation with CCS enabled, the most
 * recently seen first.
 */
export function nextScan(
  lease: InventoryLease,
  record: CcsRecord,
  hosts: HostRecord[],
  now: Date,
  options: InventoryOptions,
): ScanDecision | null {
  const interval = options.intervalSeconds * 1000;
  const fullEvery = (options.fullScanEverySeconds ?? 86_400) * 1000;
  const at = now.getTime();
  const candidates = hosts
    .filter((h) => h.appliedGeneration >= record.generation && h.actual?.enabled === true)
    .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.host.localeCompare(b.host));
  let holder = candidates.find((h) => sameHost(h.host, lease.holder))?.host ?? null;
  let excluded = lease.excluded;
  const outstanding = lease.scanSeq > lease.reportedSeq;

  // The scanner left its scan unanswered for two intervals: hand over.
  if (holder !== null && outstanding && ago(at, lease.requestedAt) >= 2 * interval) {
    excluded = [...excluded.filter((h) => !sameHost(h, holder)), holder];
    holder = null;
  }

  if (holder === null) {
    // After a failed scan, wait an interval before asking the next host.
    if (lease.lastError !== null && ago(at, lease.lastReportAt) < interval) return null;
    let pool = candidates.filter((h) => !excluded.some((x) => sameHost(x, h.host)));
    if (pool.length === 0) {
      excluded = [];
      pool = candidates;
    }
    const elected = pool[0]?.host;
    if (elected === undefined) return null;
    const scanSeq = lease.scanSeq + 1;
    return {
      host: elected,
      scanSeq,
      full: true,
      lease: {
        ...lease,
        holder: elected,
        holderSince: scanSeq,
        scanSeq,
        full: true,
        generation: record.generation,
        requestedAt: now.toISOString(),
        excluded,
      },
    };
  }

  const changed = lease.generation !== record.generation;
  if (outstanding && !changed) return null;
  if (!changed && ago(at, lease.lastReportAt) < interval) return null;
  const full =
    changed || lease.completedFullSeq < lease.holderSince || ago(at, lease.lastFullAt) >= fullEvery;
  const scanSeq = lease.scanSeq + 1;
  return {
    host: holder,
    scanSeq,
    full,
    lease: {
      ...lease,
      scanSeq,
      full,
      generation: record.generation,
      requestedAt: now.toISOString(),
      excluded,
    },
  };
}

export interface StoreState {
  ccsId: string;
  id: string;
  record: CcsRecord;
  lease: InventoryLease;
  hosts: HostRecord[];
}

export interface CertificateEntry {
  store: StoreState;
  row: CertificateRow;
  expiresInDays: number | null;
  problems: Problem[];
}

export interface CertificateQuery {
  /** Only this store (404 `store.id` when it does not exist). */
  storeId?: string;
  /** Only certificates expiring within this many days (expired ones included). */
  expiringWithinDays?: number;
}

export class InventoryService {
  private readonly inventory: Stores['inventory'];

  constructor(
    private readonly records: Pick<Stores, 'desired' | 'hosts' | 'inventory'>,
    private readonly bus: CommandBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly options: InventoryOptions,
  ) {
    this.inventory = records.inventory;
  }

  // ── scheduling ───────────────────────────────────────────────────────────────────────────
  /** Ask the elected host of every enabled ccs-id to scan when one is due (run by a timer). */
  async tick(): Promise<number> {
    let requested = 0;
    for (const record of await this.records.desired.list()) {
      if (!record.desired.enabled) continue;
      try {
        if (await this.schedule(record)) requested++;
      } catch (error) {
        this.log.warn('inventory scheduling failed; the next tick retries', {
          ccsId: record.ccsId,
          error: error instanceof Error ? error.name : 'unknown',
        });
      }
    }
    return requested;
  }

  private async schedule(record: CcsRecord): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { lease, etag } = await this.inventory.getLease(record.ccsId);
      const hosts = await this.records.hosts.list(record.ccsId);
      const decision = nextScan(lease, record, hosts, this.clock.now(), this.options);
      if (!decision) return false;
      // Lost to the report processor or another tick: decide again from what it wrote.
      if ((await this.inventory.saveLease(decision.lease, etag)) === null) continue;
      const command: ScanCommand = {
        v: MESSAGE_VERSION,
        type: 'scan',
        ccsId: record.ccsId,
        host: decision.host,
        generation: record.generation,
        scanSeq: decision.scanSeq,
        full: decision.full,
        issuedAt: this.clock.now().toISOString(),
      };
      await this.bus.send(command);
      if (!sameHost(lease.holder, decision.host)) {
        this.log.info('inventory scanner elected', {
          ccsId: record.ccsId,
          host: decision.host,
          previous: lease.holder,
        });
      }
      return true;
    }
    return false;
  }

  // ── folding reports ──────────────────────────────────────────────────────────────────────
  async fold(report: InventoryReport): Promise<void> {
    const state = await this.records.desired.get(report.ccsId);
    const record = state?.record;
    if (!record?.desired.enabled || record.desired.path === null || report.generation !== record.generation) {
      this.log.info('inventory report for another generation ignored', {
        ccsId: report.ccsId,
        host: report.host,
        scanSeq: report.scanSeq,
      });
      return;
    }
    const { lease } = await this.inventory.getLease(report.ccsId);
    if (
      !sameHost(report.host, lease.holder) ||
      report.scanSeq > lease.scanSeq ||
      report.scanSeq < lease.holderSince
    ) {
      this.log.info('inventory report from a host that does not hold the lease ignored', {
        ccsId: report.ccsId,
        host: report.host,
        scanSeq: report.scanSeq,
      });
      return;
    }
    const now = this.clock.now().toISOString();
    let completedFull = false;
    if (report.error === null) {
      const renamedFrom = new Map(report.renamed.map((r) => [r.to.toLowerCase(), r.from]));
      const path = record.desired.path;
      await this.inventory.putCertificates(
        report.upserts.map((file) => ({
          ccsId: report.ccsId,
          id: certificateIdOf(report.ccsId, file.name),
          path,
          scanSeq: report.scanSeq,
          deleted: false,
          file,
          renamedFrom: renamedFrom.get(file.name.toLowerCase()) ?? null,
          firstSeen: now,
          updatedAt: now,
        })),
      );
      await this.inventory.removeCertificates(
        report.ccsId,
        report.removed.map((name) => certificateIdOf(report.ccsId, name)),
        report.scanSeq,
        now,
      );
      if (report.full) {
        const received = await this.inventory.recordChunk(report.ccsId, report.scanSeq, report.chunk.index);
        if (received >= report.chunk.count) {
          const purgeBefore = new Date(this.clock.now().getTime() - DAY_MS).toISOString();
          await this.inventory.sweepAfterFullScan(report.ccsId, report.scanSeq, now, purgeBefore);
          await this.inventory.dropReceiptsBefore(report.ccsId, report.scanSeq);
          completedFull = true;
        }
      }
    } else {
      this.log.warn('inventory scan failed', {
        ccsId: report.ccsId,
        host: report.host,
        code: report.error.code,
      });
    }
    await this.updateLease(report, now, completedFull);
  }

  private async updateLease(report: InventoryReport, now: string, completedFull: boolean): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const { lease, etag } = await this.inventory.getLease(report.ccsId);
      if (!sameHost(report.host, lease.holder)) return; // handed over meanwhile
      const next: InventoryLease = {
        ...lease,
        reportedSeq: Math.max(lease.reportedSeq, report.scanSeq),
        lastReportAt: now,
        files: report.files,
        lastError: report.error,
      };
      if (report.error !== null) {
        // Let another host try at the next tick (after an interval).
        next.excluded = [...lease.excluded.filter((h) => !sameHost(h, report.host)), report.host];
        next.holder = null;
      }
      if (completedFull && report.scanSeq > lease.completedFullSeq) {
        next.completedFullSeq = report.scanSeq;
        next.completedFullGeneration = report.generation;
        next.lastFullAt = now;
        next.excluded = [];
      }
      if ((await this.inventory.saveLease(next, etag)) !== null) return;
    }
    throw new ConcurrencyError();
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────
  /** One store per ccs-id with CCS enabled, in ccs-id order. */
  async stores(): Promise<StoreState[]> {
    const records = (await this.records.desired.list())
      .filter((r) => r.desired.enabled)
      .sort((a, b) => a.ccsId.localeCompare(b.ccsId));
    return Promise.all(records.map((record) => this.storeState(record)));
  }

  async store(id: string): Promise<StoreState | null> {
    const stores = await this.stores();
    return stores.find((s) => s.id === id) ?? null;
  }

  private async storeState(record: CcsRecord): Promise<StoreState> {
    const [{ lease }, hosts] = await Promise.all([
      this.inventory.getLease(record.ccsId),
      this.records.hosts.list(record.ccsId),
    ]);
    return { ccsId: record.ccsId, id: storeIdOf(record.ccsId), record, lease, hosts };
  }

  /** The certificates of the selected stores, in a stable order (store, alias, id); null: no such store. */
  async certificates(query: CertificateQuery = {}): Promise<CertificateEntry[] | null> {
    const stores = await this.stores();
    const selected = query.storeId === undefined ? stores : stores.filter((s) => s.id === query.storeId);
    if (query.storeId !== undefined && selected.length === 0) return null;
    const entries: CertificateEntry[] = [];
    for (const store of selected) {
      const rows = await this.inventory.listCertificates(store.ccsId);
      for (const row of rows) {
        if (row.deleted || !this.current(row, store)) continue;
        entries.push(this.entry(store, row));
      }
    }
    const within = query.expiringWithinDays;
    const filtered =
      within === undefined
        ? entries
        : entries.filter((e) => e.expiresInDays !== null && e.expiresInDays < within);
    return filtered.sort(
      (a, b) =>
        a.store.ccsId.localeCompare(b.store.ccsId) ||
        a.row.file.name.toLowerCase().localeCompare(b.row.file.name.toLowerCase()) ||
        a.row.id.localeCompare(b.row.id),
    );
  }

  async certificate(id: string): Promise<CertificateEntry | null> {
    if (!/^[A-Za-z0-9_-]{22}$/.test(id)) return null;
    for (const store of await this.stores()) {
      const row = await this.inventory.getCertificate(store.ccsId, id);
      if (row && !row.deleted && this.current(row, store)) return this.entry(store, row);
    }
    return null;
  }

  /** Rows scanned under another path (before a PATCH moved the store) are not this store's. */
  private current(row: CertificateRow, store: StoreState): boolean {
    return (store.record.desired.path ?? '').toLowerCase() === row.path.toLowerCase();
  }

  private entry(store: StoreState, row: CertificateRow): CertificateEntry {
    const now = this.clock.now();
    const legacyHosts = store.hosts
      .filter((h) => {
        const build = windowsBuild(h.actual?.osVersion);
        return build !== null && build < PBES2_MIN_WINDOWS_BUILD;
      })
      .map((h) => h.host);
    return {
      store,
      row,
      expiresInDays: expiresInDays(row.file.certificate?.validTo, now),
      problems: problemsOf(row.file, { now, warningDays: this.options.warningDays, legacyHosts }),
    };
  }
}
