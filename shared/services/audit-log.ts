/**
 * The audit log: one entry for every accepted change — who asked, when, which ccs-id, which
 * operation, and which fields changed from what to what. Secret fields appear as `{HIDDEN}`:
 * the log records that a password changed (a new Key Vault version), never a value or a
 * reference. Entries are written before the operation is recorded (a change without an entry
 * cannot happen) and never updated; the operation's outcome is read from the operation itself.
 *
 * Kept in the `ccsaudit` table, one partition, newest first (the row key counts down in time).
 */
import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { StorageClients } from '../adapters/storage.js';
import type { DesiredState } from '../messages.js';
import type { OperationKind } from '../model.js';
import type { Clock } from '../ports.js';

export const AUDIT_TABLE = 'ccsaudit';
export const HIDDEN = '{HIDDEN}';
const PARTITION = 'audit';
/** Row keys count down from here (ms since 1970), so a plain query lists the newest first. */
const FAR_FUTURE_MS = 9_999_999_999_999;

export type AuditValue = string | boolean | null;

export interface AuditChange {
  field: string;
  from: AuditValue;
  to: AuditValue;
}

export interface AuditEntry {
  id: string;
  at: string;
  /** The caller: `access-token:<name>` or `entra:<name>`. */
  who: string;
  ccsId: string;
  operationId: string;
  kind: OperationKind;
  changes: AuditChange[];
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** Where the operation engine records changes. */
export interface AuditSink {
  record(entry: AuditInput): Promise<void>;
}

/** The fields of a desired state as the API names them; secrets are shown as present or not. */
function fields(state: DesiredState | null): Record<string, AuditValue> {
  return {
    enabled: state?.enabled ?? false,
    path: state?.path ?? null,
    'identity.username': state?.username ?? null,
    'identity.password': state?.password ? `${state.password.name}@${state.password.version}` : null,
    private_key_password: state?.privateKeyPassword
      ? `${state.privateKeyPassword.name}@${state.privateKeyPassword.version}`
      : null,
  };
}

const SECRET_FIELDS = new Set(['identity.password', 'private_key_password']);

/** What changed between two desired states; a new secret version is a change, shown `{HIDDEN}`. */
export function describeChanges(before: DesiredState | null, after: DesiredState): AuditChange[] {
  const a = fields(before);
  const b = fields(after);
  const changes: AuditChange[] = [];
  for (const field of Object.keys(b)) {
    if (a[field] === b[field]) continue;
    if (SECRET_FIELDS.has(field)) {
      changes.push({ field, from: a[field] === null ? null : HIDDEN, to: b[field] === null ? null : HIDDEN });
    } else {
      changes.push({ field, from: a[field] ?? null, to: b[field] ?? null });
    }
  }
  return changes;
}

export class AuditLog implements AuditSink {
  private readonly table: TableClient;
  private ready: Promise<unknown> | undefined;

  constructor(
    storage: StorageClients,
    private readonly clock: Clock,
  ) {
    this.table = storage.table(AUDIT_TABLE);
  }

  private ensureTable(): Promise<unknown> {
    this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async record(entry: AuditInput): Promise<void> {
    await this.ensureTable();
    const now = this.clock.now();
    const id = randomUUID();
    await this.table.createEntity({
      partitionKey: PARTITION,
      rowKey: `${String(FAR_FUTURE_MS - now.getTime()).padStart(13, '0')}-${id}`,
      id,
      at: now.toISOString(),
      who: entry.who,
      ccsId: entry.ccsId,
      operationId: entry.operationId,
      kind: entry.kind,
      changes: JSON.stringify(entry.changes),
    });
  }

  /** The newest `top` entries, optionally of one ccs-id. */
  async list(options: { ccsId?: string; top: number }): Promise<AuditEntry[]> {
    await this.ensureTable();
    const filter = options.ccsId
      ? odata`PartitionKey eq ${PARTITION} and ccsId eq ${options.ccsId}`
      : odata`PartitionKey eq ${PARTITION}`;
    const out: AuditEntry[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({
        id: String(row.id),
        at: String(row.at),
        who: String(row.who),
        ccsId: String(row.ccsId),
        operationId: String(row.operationId),
        kind: row.kind as OperationKind,
        changes: JSON.parse(String(row.changes)) as AuditChange[],
      });
      if (out.length >= options.top) break;
    }
    return out;
  }
}
