/**
 * Rate-limit windows in Table storage (`ccslimits`): partition = what is limited, row = whose
 * events; the recent event times as a JSON column. ETag-conditional, so API instances that count
 * at the same time cannot both take the last slot.
 */
import type { RateWindow } from '../model.js';
import type { RateLimitRepository, Versioned } from '../ports.js';
import { getOrNull, json, type LazyTable, parse, writeConditionally } from './table-support.js';

export class TableRateLimitRepository implements RateLimitRepository {
  /** `TABLE_NAMES.rateLimits` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async get(scope: string, key: string): Promise<Versioned<RateWindow> | null> {
    const row = await getOrNull(await this.table.ready(), scope, key);
    return row ? { record: { scope, key, events: parse<string[]>(row.events) }, etag: row.etag } : null;
  }

  async save(window: RateWindow, etag: string | null): Promise<string | null> {
    const entity = { partitionKey: window.scope, rowKey: window.key, events: json(window.events) };
    return writeConditionally(await this.table.ready(), entity, etag);
  }
}
