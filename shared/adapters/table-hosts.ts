/**
 * Enrolled hosts in Table storage (`ccshosts`): one partition per ccs-id, one row per host
 * (row key: the host name lowercased, as Windows compares them).
 */
import { odata } from '@azure/data-tables';
import type { HostRecord } from '../model.js';
import type { HostRepository, TransactionOutcome, Versioned } from '../ports.js';
import {
  all,
  getOrNull,
  json,
  type LazyTable,
  parse,
  textOrNull,
  transact,
  type Entity,
  type Row,
} from './table-support.js';

function toRecord(row: Row): HostRecord {
  return {
    ccsId: String(row.partitionKey),
    host: String(row.host),
    agentVersion: String(row.agentVersion),
    backend: String(row.backend),
    actual: parse<HostRecord['actual']>(row.actual),
    appliedGeneration: Number(row.appliedGeneration),
    lastSeen: String(row.lastSeen),
    lastError: parse<HostRecord['lastError']>(row.lastError),
    lastDriftAt: textOrNull(row.lastDriftAt),
  };
}

export class TableHostRepository implements HostRepository {
  /** `TABLE_NAMES.hosts` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async get(ccsId: string, host: string): Promise<HostRecord | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, host.toLowerCase());
    return row ? toRecord(row) : null;
  }

  async list(ccsId: string): Promise<HostRecord[]> {
    const table = await this.table.ready();
    return all(
      table.listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq ${ccsId}` } }),
      toRecord,
    );
  }

  async put(record: HostRecord): Promise<void> {
    const table = await this.table.ready();
    await table.upsertEntity(toEntity(record), 'Replace');
  }

  async read(ccsId: string, host: string): Promise<Versioned<HostRecord> | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, host.toLowerCase());
    return row ? { record: toRecord(row), etag: row.etag } : null;
  }

  async writeAll(
    ccsId: string,
    writes: { record: HostRecord; etag: string | null }[],
  ): Promise<TransactionOutcome> {
    const table = await this.table.ready();
    const outcome = await transact(
      table,
      writes.map(({ record, etag }) => {
        if (record.ccsId !== ccsId) throw new RangeError('a transaction writes one ccs-id');
        return etag === null
          ? (['create', toEntity(record)] as const)
          : (['update', toEntity(record), 'Replace', { etag }] as const);
      }),
    );
    return 'etags' in outcome ? outcome : { lost: outcome.index };
  }
}

function toEntity(record: HostRecord): Entity {
  return {
    partitionKey: record.ccsId,
    rowKey: record.host.toLowerCase(),
    host: record.host,
    agentVersion: record.agentVersion,
    backend: record.backend,
    actual: json(record.actual),
    appliedGeneration: record.appliedGeneration,
    lastSeen: record.lastSeen,
    lastError: json(record.lastError),
    lastDriftAt: record.lastDriftAt ?? '',
  };
}
