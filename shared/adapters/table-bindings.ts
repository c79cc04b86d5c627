/**
 * Hosts' CCS bindings in Table storage (`ccsbindings`), one partition per ccs-id: a head per host
 * (`h|<host>`) naming its newest complete list, and the parts lists are stored in
 * (`p|<host>|<set>|<index>`), each spread over columns (table-text.ts). Host names are lowercased
 * in keys, as Windows compares them.
 */
import { odata } from '@azure/data-tables';
import { eachLimited } from '../each-limited.js';
import type { BindingsHead, BindingsPart } from '../bindings/model.js';
import type { CcsBinding, HostError } from '../messages.js';
import type { BindingsRepository, Versioned } from '../ports.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  json,
  parse,
  textOrNull,
  writeConditionally,
  type LazyTable,
  type Row,
} from './table-support.js';
import { readTextColumns, textColumns } from './table-text.js';

const IN_FLIGHT = 16;
const headKey = (host: string): string => `h|${host.toLowerCase()}`;
const partPrefix = (host: string, set = ''): string =>
  `p|${host.toLowerCase()}|${set === '' ? '' : `${set}|`}`;
const partKey = (part: BindingsPart): string =>
  `${partPrefix(part.host, part.set)}${String(part.index).padStart(5, '0')}`;
const range = (ccsId: string, prefix: string): string =>
  odata`PartitionKey eq ${ccsId} and RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`;

function toHead(ccsId: string, row: Row): BindingsHead {
  return {
    ccsId,
    host: String(row.host),
    digest: textOrNull(row.digest),
    total: Number(row.total ?? 0),
    set: textOrNull(row.set),
    at: textOrNull(row.at),
    error: parse<HostError | null>(row.error ?? 'null'),
    errorAt: textOrNull(row.errorAt),
  };
}

export class TableBindingsRepository implements BindingsRepository {
  /** `TABLE_NAMES.bindings` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async head(ccsId: string, host: string): Promise<Versioned<BindingsHead> | null> {
    const row = await getOrNull(await this.table.ready(), ccsId, headKey(host));
    return row ? { record: toHead(ccsId, row), etag: row.etag } : null;
  }

  async heads(ccsId: string): Promise<BindingsHead[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: range(ccsId, 'h|') } }), (row) =>
      toHead(ccsId, row),
    );
  }

  async saveHead(head: BindingsHead, etag: string | null): Promise<string | null> {
    return writeConditionally(
      await this.table.ready(),
      {
        partitionKey: head.ccsId,
        rowKey: headKey(head.host),
        host: head.host,
        digest: head.digest ?? '',
        total: head.total,
        set: head.set ?? '',
        at: head.at ?? '',
        error: json(head.error),
        errorAt: head.errorAt ?? '',
      },
      etag,
    );
  }

  async putPart(part: BindingsPart): Promise<void> {
    const table = await this.table.ready();
    await table.upsertEntity(
      {
        partitionKey: part.ccsId,
        rowKey: partKey(part),
        set: part.set,
        index: part.index,
        at: part.at,
        ...textColumns('bindings', part.bindings),
      },
      'Replace',
    );
  }

  async countParts(ccsId: string, host: string, set: string): Promise<number> {
    const table = await this.table.ready();
    const filter = range(ccsId, partPrefix(host, set));
    return (await all(table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }), (r) => r))
      .length;
  }

  async readSet(ccsId: string, host: string, set: string, count: number): Promise<CcsBinding[] | null> {
    const table = await this.table.ready();
    const rows = await all(
      table.listEntities<Row>({ queryOptions: { filter: range(ccsId, partPrefix(host, set)) } }),
      (row) => ({ index: Number(row.index), bindings: readTextColumns<CcsBinding[]>(row, 'bindings') }),
    );
    const parts = rows.filter((r) => r.index < count).sort((a, b) => a.index - b.index);
    if (parts.length !== count || parts.some((p, i) => p.index !== i)) return null;
    return parts.flatMap((p) => p.bindings);
  }

  async dropParts(ccsId: string, host: string, keep: string | null, before: string): Promise<void> {
    const table = await this.table.ready();
    const filter = range(ccsId, partPrefix(host));
    const stale = await all(
      table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey', 'set', 'at'] } }),
      (r) => ({ key: String(r.rowKey), set: String(r.set), at: String(r.at) }),
    );
    await eachLimited(
      stale.filter((p) => p.set !== keep && p.at <= before),
      IN_FLIGHT,
      (p) => deleteIfExists(table, ccsId, p.key),
    );
  }
}
