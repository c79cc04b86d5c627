/**
 * A finished operation leaves no host step `pending` (issue 22, invariant 1: nothing pending
 * forever). When it ends, each step still pending says what became of it:
 * - a preflight never answered, because another host failed first or a change was committed
 *   before this one: `skipped`;
 * - an apply never sent (the operation ended before its commit): `skipped`;
 * - an apply sent, with the operation `Succeeded`: the host reached this generation or a newer
 *   one by another command (a catch-up, a later change): `succeeded`;
 * - an apply sent, with the operation `Failed` at its deadline: the host stayed silent —
 *   `unreachable`, as a silent host is at the preflight deadline. It catches up when it returns.
 */
import type { HostStepStatus, OperationPhase, OperationRecord, OperationStatus } from '../model.js';
import type { OperationRepository } from '../ports.js';
import { updateHostRow } from './operation-host-rows.js';

export function closedApplyStep(phaseBefore: OperationPhase, status: OperationStatus): HostStepStatus {
  if (phaseBefore !== 'apply') return 'skipped';
  return status === 'Succeeded' ? 'succeeded' : 'unreachable';
}

/** Each row still pending is closed conditionally: a result folded meanwhile is kept, not overwritten. */
export async function closePendingSteps(
  operations: Pick<OperationRepository, 'hosts' | 'getHost' | 'saveHost'>,
  op: OperationRecord,
  phaseBefore: OperationPhase,
  now: string,
): Promise<void> {
  const rows = await operations.hosts(op.id);
  const apply = closedApplyStep(phaseBefore, op.status);
  await Promise.all(
    rows
      .filter((r) => r.preflight === 'pending' || r.apply === 'pending')
      .map((r) =>
        updateHostRow(operations, op.id, r.host, (row) =>
          row.preflight === 'pending' || row.apply === 'pending'
            ? {
                ...row,
                preflight: row.preflight === 'pending' ? 'skipped' : row.preflight,
                apply: row.apply === 'pending' ? apply : row.apply,
                updatedAt: now,
              }
            : null,
        ),
      ),
  );
}
