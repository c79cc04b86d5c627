/**
 * What every Table storage adapter shares: a table created on first use (and again after a
 * failed attempt), JSON columns, paging through a query, and the conditional-write convention of
 * shared/ports.ts (a lost race is `null`, not an exception).
 */
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { MAX_TRANSACTION_WRITES } from '../ports.js';
import { isRestError } from '@azure/core-rest-pipeline';
import { hasStatus, type StorageClients } from './storage.js';

export type Row = Record<string, unknown>;
export type Entity = Row & { partitionKey: string; rowKey: string };

export const json = (value: unknown): string => JSON.stringify(value);
export const parse = <T>(value: unknown): T => JSON.parse(String(value)) as T;
/** An empty-string column read back as null (Table storage has no nulls). */
export const textOrNull = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

/** The tables the API keeps (infra/app/storage.bicep also creates them). */
export const TABLE_NAMES = {
  desired: 'ccsstate',
  hosts: 'ccshosts',
  operations: 'ccsoperations',
  audit: 'ccsaudit',
  inventory: 'ccsinventory',
  bindings: 'ccsbindings',
  serving: 'ccsserving',
  enrolment: 'ccsenrolment',
  rateLimits: 'ccslimits',
  publishing: 'ccspublish',
} as const;

/**
 * One table, created on first use. A failed `createTable` is not kept: the next call tries
 * again, so a storage blip at cold start costs one failed request, not an instance that answers
 * 503 until it is recycled. (`createTable` is a no-op when the table exists.)
 */
export class LazyTable {
  readonly client: TableClient;
  private created: Promise<void> | undefined;

  constructor(storage: Pick<StorageClients, 'table'>, name: string) {
    this.client = storage.table(name);
  }

  /** The client, once its table exists. */
  async ready(): Promise<TableClient> {
    this.created ??= this.client.createTable().then(
      () => undefined,
      (error: unknown) => {
        this.created = undefined;
        throw error;
      },
    );
    await this.created;
    return this.client;
  }
}

/** Every row of a query, mapped. */
export async function all<T>(
  iter: AsyncIterable<TableEntityResult<Row>>,
  map: (row: Row) => T,
): Promise<T[]> {
  const out: T[] = [];
  for await (const row of iter) out.push(map(row));
  return out;
}

/** A point read, or null when the entity does not exist. */
export async function getOrNull(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<TableEntityResult<Row> | null> {
  try {
    return await table.getEntity<Row>(partitionKey, rowKey);
  } catch (error) {
    if (hasStatus(error, 404)) return null;
    throw error;
  }
}

/**
 * Create (`etag` null) or replace `entity` conditionally. Returns the new ETag, or null when
 * another writer changed the entity (412) or created it first (409).
 */
export async function writeConditionally(
  table: TableClient,
  entity: Entity,
  etag: string | null,
): Promise<string | null> {
  try {
    const result =
      etag === null
        ? await table.createEntity(entity)
        : await table.updateEntity(entity, 'Replace', { etag });
    return result.etag ?? '';
  } catch (error) {
    if (hasStatus(error, 412) || hasStatus(error, 409)) return null;
    throw error;
  }
}

/** Delete an entity; one that is already gone is not an error. */
export async function deleteIfExists(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<void> {
  try {
    await table.deleteEntity(partitionKey, rowKey);
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
  }
}

/** A transaction that did not apply: which action failed, and its status (412, 409, 404). */
export interface TransactionLost {
  index: number;
  status: number;
}

/**
 * Submit `actions` (one partition, at most MAX_TRANSACTION_WRITES, each entity once) as one
 * entity-group transaction. All or nothing: the new ETags in order, or — when an action lost a
 * race (412 stale ETag, 409 exists) or found no entity (404) — which one, with nothing written.
 * The service names the failed action by prefixing its error message with the action's 0-based
 * index, `"1:The update condition specified in the request was not satisfied."` (REST
 * "Performing entity group transactions"; the .NET SDK exposes it as
 * `TableTransactionFailedException.FailedTransactionActionIndex`; Azurite 3.35 answers the same,
 * TableBatchSerialization.serializeError). Any other failure throws.
 */
export async function transact(
  table: TableClient,
  actions: TransactionAction[],
): Promise<{ etags: string[] } | TransactionLost> {
  if (actions.length === 0) return { etags: [] };
  if (actions.length > MAX_TRANSACTION_WRITES) {
    throw new RangeError(`a transaction takes at most ${MAX_TRANSACTION_WRITES} entities`);
  }
  try {
    const response = await table.submitTransaction(actions);
    return { etags: response.subResponses.map((r) => r.etag ?? '') };
  } catch (error) {
    const status = isRestError(error) ? (error.statusCode ?? 0) : 0;
    if (status !== 412 && status !== 409 && status !== 404) throw error;
    const index = /^(\d+):/.exec((error as Error).message)?.[1];
    // Without an index the first action is blamed: the caller re-reads and tries again.
    return { index: index === undefined ? 0 : Number(index), status };
  }
}
