/**
 * The desired state of each ccs-id in Table storage (`ccsstate`, one partition): the state as a
 * JSON column of Key Vault references, never a secret value. Writes are ETag-conditional.
 */
import { odata } from '@azure/data-tables';
import type { CcsRecord } from '../model.js';
import type { DesiredStateRepository, Versioned } from '../ports.js';
import {
  all,
  getOrNull,
  json,
  type LazyTable,
  parse,
  textOrNull,
  writeConditionally,
  type Row,
} from './table-support.js';

const PARTITION = 'ccs';

function toRecord(row: Row): CcsRecord {
  return {
    ccsId: String(row.rowKey),
    desired: parse<CcsRecord['desired']>(row.desired),
    generation: Number(row.generation),
    updatedAt: String(row.updatedAt),
    lastOperationId: textOrNull(row.lastOperationId),
  };
}

export class TableDesiredStateRepository implements DesiredStateRepository {
  /** `TABLE_NAMES.desired` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async get(ccsId: string): Promise<Versioned<CcsRecord> | null> {
    const row = await getOrNull(await this.table.ready(), PARTITION, ccsId);
    return row ? { record: toRecord(row), etag: row.etag } : null;
  }

  async list(): Promise<CcsRecord[]> {
    const table = await this.table.ready();
    return all(
      table.listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } }),
      toRecord,
    );
  }

  async save(record: CcsRecord, etag: string | null): Promise<string | null> {
    const entity = {
      partitionKey: PARTITION,
      rowKey: record.ccsId,
      desired: json(record.desired),
      generation: record.generation,
      updatedAt: record.updatedAt,
      lastOperationId: record.lastOperationId ?? '',
    };
    return writeConditionally(await this.table.ready(), entity, etag);
  }
}
