/**
 * Operations in Table storage (`ccsoperations`). One partition per operation: the record (row
 * `op`) and one row per host (`h:<host>`), so an operation's host rows are written in
 * entity-group transactions and read with one partition query. Running operations are also listed
 * in partition `active` (the sweeper's work list). Structured values are JSON columns holding
 * references and metadata only.
 */
import { odata } from '@azure/data-tables';
import type { HostError } from '../messages.js';
import {
  isTerminal,
  type HostStepStatus,
  type OperationHostRecord,
  type OperationRecord,
  type RotationPlan,
} from '../model.js';
import type {
  HostStep,
  HostStepWrite,
  OperationRepository,
  TransactionOutcome,
  Versioned,
} from '../ports.js';
import { hasStatus } from './storage.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  json,
  type LazyTable,
  parse,
  transact,
  writeConditionally,
  type Entity,
  type Row,
} from './table-support.js';

const RECORD_KEY = 'op';
const ACTIVE_PARTITION = 'active';
/** Entity-group transactions take at most 100 entities. */
const MAX_BATCH = 100;

const hostKey = (host: string): string => `h:${host.toLowerCase()}`;
const hostRows = (id: string): string => odata`PartitionKey eq ${id} and RowKey gt 'h:' and RowKey lt 'h;'`;

function hostEntity(record: OperationHostRecord): Entity {
  return {
    partitionKey: record.operationId,
    rowKey: hostKey(record.host),
    host: record.host,
    preflight: record.preflight,
    apply: record.apply,
    error: json(record.error),
    updatedAt: record.updatedAt,
    // Table storage has no nulls: -1 is "not in a rollout".
    wave: record.wave ?? -1,
  };
}

function toHost(id: string, r: Row): OperationHostRecord {
  return {
    operationId: id,
    host: String(r.host),
    preflight: r.preflight as HostStepStatus,
    apply: r.apply as HostStepStatus,
    error: parse<HostError | null>(r.error),
    updatedAt: String(r.updatedAt),
    ...(typeof r.wave === 'number' && r.wave >= 0 ? { wave: r.wave } : {}),
  };
}

function recordEntity(op: OperationRecord): Entity {
  const { proposed, changedFields, error, rollout, rotation, force, ...plain } = op;
  return {
    partitionKey: op.id,
    rowKey: RECORD_KEY,
    ...plain,
    proposed: json(proposed),
    changedFields: json(changedFields),
    error: json(error),
    rollout: json(rollout ?? null),
    ...(force ? { force: true } : {}),
    ...(rotation ? { rotation: json(rotation) } : {}),
  };
}

function toRecord(row: Row): OperationRecord {
  return {
    id: String(row.id),
    ccsId: String(row.ccsId),
    kind: row.kind as OperationRecord['kind'],
    status: row.status as OperationRecord['status'],
    phase: row.phase as OperationRecord['phase'],
    baseGeneration: Number(row.baseGeneration),
    targetGeneration: Number(row.targetGeneration),
    proposed: parse<OperationRecord['proposed']>(row.proposed),
    changedFields: parse<string[]>(row.changedFields),
    requestedBy: String(row.requestedBy),
    createdAt: String(row.createdAt),
    updatedAt: String(row.updatedAt),
    preflightDeadline: String(row.preflightDeadline),
    deadline: String(row.deadline),
    error: parse<OperationRecord['error']>(row.error),
    ...(typeof row.rollout === 'string' && row.rollout !== 'null'
      ? { rollout: parse<OperationRecord['rollout']>(row.rollout) }
      : {}),
    ...(row.force === true ? { force: true } : {}),
    ...(typeof row.rotation === 'string' ? { rotation: parse<RotationPlan>(row.rotation) } : {}),
  };
}

export class TableOperationRepository implements OperationRepository {
  /** `TABLE_NAMES.operations` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async create(op: OperationRecord, hosts: OperationHostRecord[]): Promise<string> {
    const table = await this.table.ready();
    // The host rows share the operation's partition: transactions of up to 100 write them in
    // hosts/100 requests instead of one request per host.
    const chunks: OperationHostRecord[][] = [];
    for (let i = 0; i < hosts.length; i += MAX_BATCH) chunks.push(hosts.slice(i, i + MAX_BATCH));
    await Promise.all(
      chunks.map((chunk) =>
        table.submitTransaction(chunk.map((h) => ['upsert', hostEntity(h), 'Replace'] as const)),
      ),
    );
    const etag = (await table.createEntity(recordEntity(op))).etag ?? '';
    if (!isTerminal(op.status)) await table.upsertEntity({ partitionKey: ACTIVE_PARTITION, rowKey: op.id });
    return etag;
  }

  async get(id: string): Promise<Versioned<OperationRecord> | null> {
    const row = await getOrNull(await this.table.ready(), id, RECORD_KEY);
    return row ? { record: toRecord(row), etag: row.etag } : null;
  }

  async save(op: OperationRecord, etag: string): Promise<string | null> {
    const table = await this.table.ready();
    const next = await writeConditionally(table, recordEntity(op), etag);
    if (next !== null && isTerminal(op.status)) await deleteIfExists(table, ACTIVE_PARTITION, op.id);
    return next;
  }

  async activeIds(): Promise<string[]> {
    const table = await this.table.ready();
    const filter = odata`PartitionKey eq ${ACTIVE_PARTITION}`;
    return all(table.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }), (r) =>
      String(r.rowKey),
    );
  }

  async hosts(id: string): Promise<OperationHostRecord[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: hostRows(id) } }), (r) => toHost(id, r));
  }

  async host(id: string, host: string): Promise<OperationHostRecord | null> {
    const row = await getOrNull(await this.table.ready(), id, hostKey(host));
    return row ? toHost(id, row) : null;
  }

  async hostsWhere(
    id: string,
    step: HostStep,
    status: HostStepStatus,
    max = Number.POSITIVE_INFINITY,
  ): Promise<OperationHostRecord[]> {
    const table = await this.table.ready();
    const filter =
      step === 'preflight'
        ? `${hostRows(id)} and ${odata`preflight eq ${status}`}`
        : `${hostRows(id)} and ${odata`apply eq ${status}`}`;
    const out: OperationHostRecord[] = [];
    const pages = table
      .listEntities<Row>({ queryOptions: { filter } })
      .byPage({ maxPageSize: Math.min(max, 1000) });
    // A filtered query may return empty pages with a continuation: keep reading until `max` rows.
    for await (const page of pages) {
      for (const row of page) {
        out.push(toHost(id, row));
        if (out.length >= max) return out;
      }
    }
    return out;
  }

  async putHost(record: OperationHostRecord): Promise<void> {
    const table = await this.table.ready();
    await table.upsertEntity(hostEntity(record), 'Replace');
  }

  async getHost(id: string, host: string): Promise<Versioned<OperationHostRecord> | null> {
    const row = await getOrNull(await this.table.ready(), id, hostKey(host));
    return row ? { record: toHost(id, row), etag: row.etag } : null;
  }

  async saveHost(record: OperationHostRecord, etag: string): Promise<string | null> {
    try {
      return await writeConditionally(await this.table.ready(), hostEntity(record), etag);
    } catch (thrown) {
      if (hasStatus(thrown, 404)) return null;
      throw thrown;
    }
  }

  async getHosts(id: string): Promise<Versioned<OperationHostRecord>[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: hostRows(id) } }), (r) => ({
      record: toHost(id, r),
      etag: String(r.etag),
    }));
  }

  async saveHosts(id: string, writes: Versioned<OperationHostRecord>[]): Promise<TransactionOutcome> {
    const table = await this.table.ready();
    // A replace at an ETag fails with 412 when the row changed and 404 when it is gone: either
    // way that action's index comes back and nothing is written.
    const outcome = await transact(
      table,
      writes.map(({ record, etag }) => {
        if (record.operationId !== id) throw new RangeError('a transaction writes one operation');
        return ['update', hostEntity(record), 'Replace', { etag }] as const;
      }),
    );
    return 'etags' in outcome ? outcome : { lost: outcome.index };
  }

  async setHostStep(
    id: string,
    host: string,
    step: HostStep,
    status: HostStepStatus,
    error: HostError | null | undefined,
    updatedAt: string,
  ): Promise<boolean> {
    const table = await this.table.ready();
    const entity = {
      partitionKey: id,
      rowKey: hostKey(host),
      [step]: status,
      updatedAt,
      ...(error === undefined ? {} : { error: json(error) }),
    };
    try {
      await table.updateEntity(entity, 'Merge');
      return true;
    } catch (thrown) {
      if (hasStatus(thrown, 404)) return false;
      throw thrown;
    }
  }

  async setHostSteps(id: string, writes: HostStepWrite[]): Promise<{ missing: number } | null> {
    const table = await this.table.ready();
    // A merge without an ETag (If-Match: *) answers 404 for a missing row, failing the whole
    // transaction with that action's index: nothing is written.
    const outcome = await transact(
      table,
      writes.map((w) => [
        'update',
        {
          partitionKey: id,
          rowKey: hostKey(w.host),
          ...w.steps,
          updatedAt: w.updatedAt,
          ...(w.error === undefined ? {} : { error: json(w.error) }),
        },
        'Merge',
      ]),
    );
    if ('etags' in outcome) return null;
    if (outcome.status === 404) return { missing: outcome.index };
    throw new Error(`host step transaction failed with ${outcome.status}`);
  }
}
