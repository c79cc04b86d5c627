/**
 * Table storage repositories for ccs-ids, hosts and operations. Structured values are stored
 * as JSON columns; they contain references and metadata only, never a secret value.
 * Concurrency uses the entity ETag (a stale one surfaces as a `precondition` DomainError).
 */
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { ConcurrencyError } from '../errors.js';
import type {
  CcsRecord,
  HostRecord,
  HostStepStatus,
  OperationHostRecord,
  OperationRecord,
} from '../model.js';
import { hasStatus, type StorageClients } from './storage.js';

export const TABLES = { ccs: 'ccsstate', hosts: 'ccshosts', operations: 'ccsoperations' } as const;

type Row = Record<string, unknown>;
const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(value: unknown): T => JSON.parse(String(value)) as T;

/** Run a table write; a 412/409 from an ETag-conditional write becomes a ConcurrencyError. */
async function conditional<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (hasStatus(error, 412) || hasStatus(error, 409)) throw new ConcurrencyError();
    throw error;
  }
}

async function all<T>(iter: AsyncIterable<TableEntityResult<Row>>, map: (row: Row) => T): Promise<T[]> {
  const out: T[] = [];
  for await (const row of iter) out.push(map(row));
  return out;
}

export class TableRepositories {
  private readonly ccs: TableClient;
  private readonly hosts: TableClient;
  private readonly ops: TableClient;
  private ready: Promise<void> | undefined;

  constructor(storage: StorageClients) {
    this.ccs = storage.table(TABLES.ccs);
    this.hosts = storage.table(TABLES.hosts);
    this.ops = storage.table(TABLES.operations);
  }

  /** Create the tables once per process (idempotent; infra/ also creates them). */
  ensureTables(): Promise<void> {
    this.ready ??= Promise.all([this.ccs, this.hosts, this.ops].map((t) => t.createTable())).then(
      () => undefined,
    );
    return this.ready;
  }

  // ── ccs-ids ──────────────────────────────────────────────────────────────────────────────
  async getCcs(ccsId: string): Promise<{ record: CcsRecord; etag: string } | null> {
    await this.ensureTables();
    try {
      const row = await this.ccs.getEntity<Row>('ccs', ccsId);
      return { record: toCcs(row), etag: row.etag };
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  async listCcs(): Promise<CcsRecord[]> {
    await this.ensureTables();
    return all(this.ccs.listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq 'ccs'` } }), toCcs);
  }

  /** Create (etag null) or replace conditionally; returns the new ETag. */
  async saveCcs(record: CcsRecord, etag: string | null): Promise<string> {
    await this.ensureTables();
    const entity = {
      partitionKey: 'ccs',
      rowKey: record.ccsId,
      desired: json(record.desired),
      generation: record.generation,
      updatedAt: record.updatedAt,
      lastOperationId: record.lastOperationId ?? '',
    };
    const result = await conditional(() =>
      etag === null ? this.ccs.createEntity(entity) : this.ccs.updateEntity(entity, 'Replace', { etag }),
    );
    return result.etag ?? '';
  }

  // ── hosts ────────────────────────────────────────────────────────────────────────────────
  async upsertHost(record: HostRecord): Promise<void> {
    await this.ensureTables();
    await this.hosts.upsertEntity(
      {
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
      },
      'Replace',
    );
  }

  async getHost(ccsId: string, host: string): Promise<HostRecord | null> {
    await this.ensureTables();
    try {
      return toHost(await this.hosts.getEntity<Row>(ccsId, host.toLowerCase()));
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  async listHosts(ccsId: string): Promise<HostRecord[]> {
    await this.ensureTables();
    return all(
      this.hosts.listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq ${ccsId}` } }),
      toHost,
    );
  }

  // ── operations ───────────────────────────────────────────────────────────────────────────
  async createOperation(op: OperationRecord, hosts: OperationHostRecord[]): Promise<string> {
    await this.ensureTables();
    // The host rows share the operation's partition: entity-group transactions of up to 100
    // write them in hosts/100 requests instead of one request per host.
    const chunks: OperationHostRecord[][] = [];
    for (let i = 0; i < hosts.length; i += MAX_BATCH) chunks.push(hosts.slice(i, i + MAX_BATCH));
    await Promise.all(
      chunks.map((chunk) =>
        this.ops.submitTransaction(chunk.map((h) => ['upsert', opHostEntity(h), 'Replace'] as const)),
      ),
    );
    const etag = await this.ops.createEntity(opEntity(op)).then((r) => r.etag ?? '');
    if (op.status === 'Running') await this.ops.upsertEntity({ partitionKey: 'active', rowKey: op.id });
    return etag;
  }

  async getOperation(id: string): Promise<{ record: OperationRecord; etag: string } | null> {
    await this.ensureTables();
    try {
      const row = await this.ops.getEntity<Row>(id, 'op');
      return { record: toOperation(row), etag: row.etag };
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  /** Conditional replace; a terminal status also drops the operation from the active index. */
  async saveOperation(op: OperationRecord, etag: string): Promise<string> {
    const result = await conditional(() => this.ops.updateEntity(opEntity(op), 'Replace', { etag }));
    if (op.status !== 'Running' && op.status !== 'NotStarted') {
      await this.ops.deleteEntity('active', op.id).catch((e: unknown) => {
        if (!hasStatus(e, 404)) throw e;
      });
    }
    return result.etag ?? '';
  }

  async activeOperationIds(): Promise<string[]> {
    await this.ensureTables();
    const filter = odata`PartitionKey eq 'active'`;
    return all(this.ops.listEntities<Row>({ queryOptions: { filter, select: ['RowKey'] } }), (r) =>
      String(r.rowKey),
    );
  }

  async upsertOperationHost(record: OperationHostRecord): Promise<void> {
    await this.ops.upsertEntity(opHostEntity(record), 'Replace');
  }

  /**
   * Sets one step's result on an operation's existing host row without reading it first (a
   * merge: the other step and, unless `error` is given, the error are kept). False when the row
   * does not exist. A report's fold then costs one request here instead of a read and a write.
   */
  async setOperationHostStep(
    id: string,
    host: string,
    step: 'preflight' | 'apply',
    status: HostStepStatus,
    error: OperationHostRecord['error'] | undefined,
    updatedAt: string,
  ): Promise<boolean> {
    await this.ensureTables();
    const entity = {
      partitionKey: id,
      rowKey: `h:${host.toLowerCase()}`,
      [step]: status,
      updatedAt,
      ...(error === undefined ? {} : { error: json(error) }),
    };
    try {
      await this.ops.updateEntity(entity, 'Merge');
      return true;
    } catch (error) {
      if (hasStatus(error, 404)) return false;
      throw error;
    }
  }

  async operationHosts(id: string): Promise<OperationHostRecord[]> {
    await this.ensureTables();
    const filter = odata`PartitionKey eq ${id} and RowKey gt 'h:' and RowKey lt 'h;'`;
    return all(this.ops.listEntities<Row>({ queryOptions: { filter } }), (r) => toOperationHost(id, r));
  }

  /** One host's row of an operation (a point read), or null. */
  async getOperationHost(id: string, host: string): Promise<OperationHostRecord | null> {
    await this.ensureTables();
    try {
      return toOperationHost(id, await this.ops.getEntity<Row>(id, `h:${host.toLowerCase()}`));
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  /**
   * The first `max` host rows (in host order) whose `step` has `status`, so that the engine can
   * ask "is any host still pending?" without reading every host's row on every report.
   */
  async operationHostsWhere(
    id: string,
    step: 'preflight' | 'apply',
    status: HostStepStatus,
    max = Number.POSITIVE_INFINITY,
  ): Promise<OperationHostRecord[]> {
    await this.ensureTables();
    const hostRows = odata`PartitionKey eq ${id} and RowKey gt 'h:' and RowKey lt 'h;'`;
    const filter =
      step === 'preflight'
        ? `${hostRows} and ${odata`preflight eq ${status}`}`
        : `${hostRows} and ${odata`apply eq ${status}`}`;
    const out: OperationHostRecord[] = [];
    const pages = this.ops
      .listEntities<Row>({ queryOptions: { filter } })
      .byPage({ maxPageSize: Math.min(max, 1000) });
    // A filtered query may return empty pages with a continuation: keep reading until `max` rows.
    for await (const page of pages) {
      for (const row of page) {
        out.push(toOperationHost(id, row));
        if (out.length >= max) return out;
      }
    }
    return out;
  }
}

/** Entity-group transactions take at most 100 entities. */
const MAX_BATCH = 100;

function opHostEntity(record: OperationHostRecord): Row & { partitionKey: string; rowKey: string } {
  return {
    partitionKey: record.operationId,
    rowKey: `h:${record.host.toLowerCase()}`,
    host: record.host,
    preflight: record.preflight,
    apply: record.apply,
    error: json(record.error),
    updatedAt: record.updatedAt,
  };
}

function toOperationHost(id: string, r: Row): OperationHostRecord {
  return {
    operationId: id,
    host: String(r.host),
    preflight: r.preflight as OperationHostRecord['preflight'],
    apply: r.apply as OperationHostRecord['apply'],
    error: parse<OperationHostRecord['error']>(r.error),
    updatedAt: String(r.updatedAt),
  };
}

function toCcs(row: Row): CcsRecord {
  return {
    ccsId: String(row.rowKey),
    desired: parse<CcsRecord['desired']>(row.desired),
    generation: Number(row.generation),
    updatedAt: String(row.updatedAt),
    lastOperationId:
      typeof row.lastOperationId === 'string' && row.lastOperationId ? row.lastOperationId : null,
  };
}

function toHost(row: Row): HostRecord {
  return {
    ccsId: String(row.partitionKey),
    host: String(row.host),
    agentVersion: String(row.agentVersion),
    backend: String(row.backend),
    actual: parse<HostRecord['actual']>(row.actual),
    appliedGeneration: Number(row.appliedGeneration),
    lastSeen: String(row.lastSeen),
    lastError: parse<HostRecord['lastError']>(row.lastError),
    lastDriftAt: typeof row.lastDriftAt === 'string' && row.lastDriftAt ? row.lastDriftAt : null,
  };
}

function opEntity(op: OperationRecord): Row & { partitionKey: string; rowKey: string } {
  const { proposed, changedFields, error, ...plain } = op;
  return {
    partitionKey: op.id,
    rowKey: 'op',
    ...plain,
    proposed: json(proposed),
    changedFields: json(changedFields),
    error: json(error),
  };
}

function toOperation(row: Row): OperationRecord {
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
  };
}
