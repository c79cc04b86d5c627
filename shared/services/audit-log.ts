/**
 * The audit log: one entry for every accepted change — who asked, when, which ccs-id, which
 * operation, and which fields changed from what to what. Secret fields appear as `{HIDDEN}`:
 * the log records that a password changed (a new Key Vault version), never a value or a
 * reference. The engine writes an entry before it records the operation (a change without an
 * entry cannot happen) and the status the operation ended with when it ends.
 */
import type { DesiredState } from '../messages.js';
import { isTerminal, type AuditChange, type AuditEntry, type AuditValue } from '../model.js';
import type { AuditRepository, OperationRepository } from '../ports.js';

export const HIDDEN = '{HIDDEN}';

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

/** Reading the audit log (GET /api/audit). */
export class AuditLog {
  constructor(
    private readonly audit: Pick<AuditRepository, 'list'>,
    private readonly operations: Pick<OperationRepository, 'get'>,
  ) {}

  /**
   * The newest `top` entries, of one ccs-id when given: one query. Only an entry whose
   * operation had not ended when it was last written (still running, or its end's write was
   * lost) costs a read of that operation; one that was never recorded is `NotStarted`.
   */
  async list(query: { ccsId?: string; top: number }): Promise<AuditEntry[]> {
    const entries = await this.audit.list(query);
    return Promise.all(
      entries.map(async (entry) => {
        if (isTerminal(entry.status)) return entry;
        const operation = await this.operations.get(entry.operationId);
        // No operation: it is being recorded right now, or recording it failed after the entry.
        return { ...entry, status: operation?.record.status ?? 'NotStarted' };
      }),
    );
  }
}
