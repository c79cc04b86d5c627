/**
 * Serving checks in Table storage (`ccsserving`), one partition per ccs-id. Each check is written
 * twice in one entity-group transaction — by generation (`g|<generation>|<host>`, for an
 * operation's hosts) and by host (`h|<host>|<generation>`, a host's history) — with generations
 * counting down in keys, so a plain query lists the newest first. `l|<host>` holds each host's
 * newest check. A host keeps its newest HISTORY checks.
 */
import { odata } from '@azure/data-tables';
import { SERVING_HISTORY, type ServingRecord } from '../bindings/model.js';
import type { ServingCheck } from '../messages.js';
import type { ServingRepository } from '../ports.js';
import { eachLimited } from '../each-limited.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  json,
  parse,
  textOrNull,
  writeConditionally,
  type Entity,
  type LazyTable,
  type Row,
} from './table-support.js';
import { readTextColumns, textColumns } from './table-text.js';

const MAX_GENERATION = 999_999_999_999;
const countdown = (generation: number): string => String(MAX_GENERATION - generation).padStart(12, '0');
const host = (name: string) => name.toLowerCase();
const range = (ccsId: string, from: string, prefix: string): string =>
  odata`PartitionKey eq ${ccsId} and RowKey ge ${from} and RowKey lt ${`${prefix}~`}`;

function columns(record: ServingRecord): Row {
  return {
    host: record.host,
    generation: record.generation,
    operationId: record.operationId ?? '',
    at: record.at,
    counts: json(record.counts),
    omitted: record.omitted,
    ...textColumns('results', record.results),
  };
}

function toRecord(ccsId: string, row: Row): ServingRecord {
  return {
    ccsId,
    host: String(row.host),
    generation: Number(row.generation),
    operationId: textOrNull(row.operationId),
    at: String(row.at),
    counts: parse<ServingCheck['counts']>(row.counts),
    results: readTextColumns<ServingCheck['results']>(row, 'results'),
    omitted: Number(row.omitted),
  };
}

export class TableServingRepository implements ServingRepository {
  /** `TABLE_NAMES.serving` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async put(record: ServingRecord): Promise<void> {
    const table = await this.table.ready();
    const body = columns(record);
    const byGeneration: Entity = {
      partitionKey: record.ccsId,
      rowKey: `g|${countdown(record.generation)}|${host(record.host)}`,
      ...body,
    };
    const byHost: Entity = {
      partitionKey: record.ccsId,
      rowKey: `h|${host(record.host)}|${countdown(record.generation)}`,
      ...body,
    };
    await table.submitTransaction([
      ['upsert', byGeneration, 'Replace'],
      ['upsert', byHost, 'Replace'],
    ]);
    await this.putLatest(record, body);
    await this.prune(record);
  }

  /** `l|<host>` follows the newest generation (a late report of an older one leaves it). */
  private async putLatest(record: ServingRecord, body: Row): Promise<void> {
    const table = await this.table.ready();
    const key = `l|${host(record.host)}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await getOrNull(table, record.ccsId, key);
      if (row) {
        const generation = Number(row.generation);
        if (generation > record.generation) return;
        if (generation === record.generation && String(row.at) > record.at) return;
      }
      const written = await writeConditionally(
        table,
        { partitionKey: record.ccsId, rowKey: key, ...body },
        row ? row.etag : null,
      );
      if (written !== null) return;
    }
  }

  private async prune(record: ServingRecord): Promise<void> {
    const table = await this.table.ready();
    const prefix = `h|${host(record.host)}|`;
    const filter = range(record.ccsId, prefix, prefix);
    const history = await all(
      table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey', 'generation'] } }),
      (r) => ({ key: String(r.rowKey), generation: Number(r.generation) }),
    );
    await eachLimited(history.slice(SERVING_HISTORY), 8, async (old) => {
      await deleteIfExists(table, record.ccsId, `g|${countdown(old.generation)}|${host(record.host)}`);
      await deleteIfExists(table, record.ccsId, old.key);
    });
  }

  async latest(ccsId: string, name: string, generation?: number): Promise<ServingRecord | null> {
    const table = await this.table.ready();
    if (generation === undefined) {
      const row = await getOrNull(table, ccsId, `l|${host(name)}`);
      return row ? toRecord(ccsId, row) : null;
    }
    const prefix = `h|${host(name)}|`;
    const filter = range(ccsId, `${prefix}${countdown(Math.max(0, generation))}`, prefix);
    for await (const page of table
      .listEntities<Row>({ queryOptions: { filter } })
      .byPage({ maxPageSize: 1 })) {
      const [row] = page;
      if (row) return toRecord(ccsId, row);
    }
    return null;
  }

  async latestOfEach(ccsId: string): Promise<ServingRecord[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: range(ccsId, 'l|', 'l|') } }), (row) =>
      toRecord(ccsId, row),
    );
  }

  async atGeneration(ccsId: string, generation: number): Promise<ServingRecord[]> {
    const table = await this.table.ready();
    const prefix = `g|${countdown(generation)}|`;
    return all(table.listEntities<Row>({ queryOptions: { filter: range(ccsId, prefix, prefix) } }), (row) =>
      toRecord(ccsId, row),
    );
  }
}
