/** A host's step result, recorded on its operation's host row (from a `result` report). */
import type { HostError } from '../messages.js';
import type { OperationHostRecord } from '../model.js';
import type { HostStep, OperationRepository } from '../ports.js';

export interface HostResult {
  id: string;
  host: string;
  step: HostStep;
  outcome: 'succeeded' | 'failed' | 'superseded';
  error: HostError | null;
  at: string;
}

/**
 * A real result is written at once, without reading the row: only a duplicate's `superseded`
 * must look first (it never overwrites a settled step), and only a host with no row yet (not
 * targeted when the operation started) needs one made. A report naming an operation that does
 * not exist leaves no row behind.
 */
export async function recordHostResult(
  operations: Pick<OperationRepository, 'setHostStep' | 'host' | 'get' | 'putHost'>,
  result: HostResult,
): Promise<void> {
  const { id, host, step, outcome, error, at } = result;
  let existing: OperationHostRecord | null;
  if (outcome !== 'superseded') {
    if (await operations.setHostStep(id, host, step, outcome, outcome === 'failed' ? error : undefined, at))
      return;
    existing = null; // the merge just found no row: no need to read it again
  } else {
    existing = await operations.host(id, host);
  }
  if (!existing && !(await operations.get(id))) return;
  const settled = existing?.[step] === 'succeeded' || existing?.[step] === 'failed';
  if (outcome === 'superseded' && settled) return;
  const row = existing ?? {
    operationId: id,
    host,
    preflight: 'skipped',
    apply: 'pending',
    error: null,
    updatedAt: at,
  };
  await operations.putHost({
    ...row,
    [step]: outcome,
    error: outcome === 'failed' ? error : row.error,
    updatedAt: at,
  });
}
