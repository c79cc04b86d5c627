/**
 * Enrolment in Table storage (`ccsenrolment`): one partition per ccs-id holding each host's key
 * record (row `host:<host lowercased>`) and the enrolment codes (row `code:<id>`), codes as their
 * SHA-256 only. Writes of both are ETag-conditional: a code is spent by exactly one writer.
 */
import { odata } from '@azure/data-tables';
import type { EnrolmentCodeRecord, HostKeyRecord } from '../model.js';
import type { EnrolmentRepository, Versioned } from '../ports.js';
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

const hostRow = (host: string): string => `host:${host.toLowerCase()}`;
const codeRow = (id: string): string => `code:${id}`;
/** Row keys of one kind lie between `<kind>:` and `<kind>;` (`;` follows `:`). */
const between = (ccsId: string, kind: 'host' | 'code') =>
  odata`PartitionKey eq ${ccsId} and RowKey ge ${`${kind}:`} and RowKey lt ${`${kind};`}`;

function toHostKey(row: Row): HostKeyRecord {
  return {
    ccsId: String(row.partitionKey),
    host: String(row.host),
    key: parse<HostKeyRecord['key']>(row.key),
    thumbprint: textOrNull(row.thumbprint),
    enrolledAt: textOrNull(row.enrolledAt),
    enrolledBy: textOrNull(row.enrolledBy),
    pending: parse<HostKeyRecord['pending']>(row.pending),
  };
}

function toCode(row: Row): EnrolmentCodeRecord {
  return {
    ccsId: String(row.partitionKey),
    id: String(row.id),
    hash: String(row.hash),
    createdAt: String(row.createdAt),
    expiresAt: String(row.expiresAt),
    createdBy: String(row.createdBy),
    usedAt: textOrNull(row.usedAt),
    usedBy: textOrNull(row.usedBy),
  };
}

function codeEntity(record: EnrolmentCodeRecord) {
  return {
    partitionKey: record.ccsId,
    rowKey: codeRow(record.id),
    id: record.id,
    hash: record.hash,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    createdBy: record.createdBy,
    usedAt: record.usedAt ?? '',
    usedBy: record.usedBy ?? '',
  };
}

export class TableEnrolmentRepository implements EnrolmentRepository {
  /** `TABLE_NAMES.enrolment` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async getHostKey(ccsId: string, host: string): Promise<Versioned<HostKeyRecord> | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, hostRow(host));
    return row ? { record: toHostKey(row), etag: row.etag } : null;
  }

  async saveHostKey(record: HostKeyRecord, etag: string | null): Promise<string | null> {
    const entity = {
      partitionKey: record.ccsId,
      rowKey: hostRow(record.host),
      host: record.host,
      key: json(record.key),
      thumbprint: record.thumbprint ?? '',
      enrolledAt: record.enrolledAt ?? '',
      enrolledBy: record.enrolledBy ?? '',
      pending: json(record.pending),
    };
    return writeConditionally(await this.table.ready(), entity, etag);
  }

  async listHostKeys(ccsId: string): Promise<HostKeyRecord[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: between(ccsId, 'host') } }), toHostKey);
  }

  async addCode(record: EnrolmentCodeRecord): Promise<void> {
    await (await this.table.ready()).createEntity(codeEntity(record));
  }

  async activeCodes(ccsId: string, now: string): Promise<Versioned<EnrolmentCodeRecord>[]> {
    const table = await this.table.ready();
    const filter = `${between(ccsId, 'code')} and ${odata`usedAt eq ${''} and expiresAt gt ${now}`}`;
    return all(table.listEntities<Row>({ queryOptions: { filter } }), (row) => ({
      record: toCode(row),
      etag: String(row.etag),
    }));
  }

  async saveCode(record: EnrolmentCodeRecord, etag: string): Promise<string | null> {
    return writeConditionally(await this.table.ready(), codeEntity(record), etag);
  }

  async pruneCodes(ccsId: string, before: string): Promise<void> {
    const table = await this.table.ready();
    const filter = `${between(ccsId, 'code')} and ${odata`expiresAt lt ${before}`}`;
    const rows = await all(table.listEntities<Row>({ queryOptions: { filter } }), (row) =>
      String(row.rowKey),
    );
    for (const rowKey of rows) await deleteIfExists(table, ccsId, rowKey);
  }
}
