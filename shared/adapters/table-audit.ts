/**
 * The audit log in Table storage (`ccsaudit`, one partition). The row key counts down in time
 * and ends with the operation id, so a plain query lists the newest first and the engine can
 * find an entry again from its operation alone (to write the status it ended with). Listing
 * is therefore one query, whatever `top` is.
 */
import { odata } from '@azure/data-tables';
import type { AuditChange, AuditEntry, OperationStatus } from '../model.js';
import type { AuditRepository } from '../ports.js';
import { hasStatus } from './storage.js';
import { json, parse, type LazyTable, type Row } from './table-support.js';

const PARTITION = 'audit';
/** Row keys count down from here (ms since 1970). */
const FAR_FUTURE_MS = 9_999_999_999_999;

function rowKeyOf(entry: Pick<AuditEntry, 'operationId' | 'at'>): string {
  return `${String(FAR_FUTURE_MS - Date.parse(entry.at)).padStart(13, '0')}-${entry.operationId}`;
}

function toEntry(row: Row): AuditEntry {
  return {
    id: String(row.id),
    at: String(row.at),
    who: String(row.who),
    ccsId: String(row.ccsId),
    operationId: String(row.operationId),
    kind: row.kind as AuditEntry['kind'],
    changes: parse<AuditChange[]>(row.changes),
    // Entries written before the status column existed read as still running.
    status: (typeof row.status === 'string' ? row.status : 'Running') as OperationStatus,
    ...(row.force === true ? { force: true } : {}),
  };
}

export class TableAuditRepository implements AuditRepository {
  /** `TABLE_NAMES.audit` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async append(entry: AuditEntry): Promise<void> {
    const table = await this.table.ready();
    await table.createEntity({
      partitionKey: PARTITION,
      rowKey: rowKeyOf(entry),
      id: entry.id,
      at: entry.at,
      who: entry.who,
      ccsId: entry.ccsId,
      operationId: entry.operationId,
      kind: entry.kind,
      changes: json(entry.changes),
      status: entry.status,
      ...(entry.force ? { force: true } : {}),
    });
  }

  async setStatus(entry: Pick<AuditEntry, 'operationId' | 'at'>, status: OperationStatus): Promise<void> {
    const table = await this.table.ready();
    try {
      await table.updateEntity({ partitionKey: PARTITION, rowKey: rowKeyOf(entry), status }, 'Merge');
    } catch (error) {
      // An entry written before row keys named the operation: the service reads the operation.
      if (!hasStatus(error, 404)) throw error;
    }
  }

  async list(query: { ccsId?: string; top: number }): Promise<AuditEntry[]> {
    const table = await this.table.ready();
    const filter = query.ccsId
      ? odata`PartitionKey eq ${PARTITION} and ccsId eq ${query.ccsId}`
      : odata`PartitionKey eq ${PARTITION}`;
    const out: AuditEntry[] = [];
    const pages = table.listEntities<Row>({ queryOptions: { filter } }).byPage({ maxPageSize: query.top });
    for await (const page of pages) {
      for (const row of page) {
        out.push(toEntry(row));
        if (out.length >= query.top) return out;
      }
    }
    return out;
  }
}
