/** Reading the audit log: one query, and a read of an operation only for an entry not yet ended. */
import { describe, expect, it } from 'vitest';
import type { AuditEntry, OperationRecord } from '../../shared/model.js';
import { DISABLED_STATE } from '../../shared/messages.js';
import { AuditLog } from '../../shared/services/audit-log.js';
import { memoryStores } from '../support/memory-stores.js';

const entry = (operationId: string, at: string, status: AuditEntry['status']): AuditEntry => ({
  id: `e-${operationId}`,
  at,
  who: 'access-token:t',
  ccsId: 'farm',
  operationId,
  kind: 'update',
  changes: [],
  status,
});

const operation = (id: string, status: OperationRecord['status']): OperationRecord => ({
  id,
  ccsId: 'farm',
  kind: 'update',
  status,
  phase: status === 'Running' ? 'apply' : 'done',
  baseGeneration: 0,
  targetGeneration: 1,
  proposed: DISABLED_STATE,
  changedFields: [],
  requestedBy: 't',
  createdAt: 't',
  updatedAt: 't',
  preflightDeadline: 't',
  deadline: 't',
  error: null,
});

describe('the audit log', () => {
  it('lists in one query and reads only the operations of entries still running', async () => {
    const stores = memoryStores();
    await stores.audit.append(entry('ended', '2026-01-01T00:00:01.000Z', 'Succeeded'));
    await stores.audit.append(entry('lost-end', '2026-01-01T00:00:02.000Z', 'Running'));
    await stores.audit.append(entry('never-recorded', '2026-01-01T00:00:03.000Z', 'Running'));
    // The operation ended but writing that on its entry failed: the operation says so.
    await stores.operations.create(operation('lost-end', 'Failed'), []);
    const lists: unknown[] = [];
    const reads: string[] = [];
    const log = new AuditLog(
      { list: (q) => (lists.push(q), stores.audit.list(q)) },
      { get: (id) => (reads.push(id), stores.operations.get(id)) },
    );
    const entries = await log.list({ top: 10 });
    expect(entries.map((e) => [e.operationId, e.status])).toEqual([
      ['never-recorded', 'NotStarted'],
      ['lost-end', 'Failed'],
      ['ended', 'Succeeded'],
    ]);
    expect(lists).toHaveLength(1);
    expect(reads.sort()).toEqual(['lost-end', 'never-recorded']);
  });
});
