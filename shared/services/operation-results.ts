/** A host's step result, recorded on its operation's host row (from a `result` report). */
import type { HostError } from '../messages.js';
import type { OperationHostRecord } from '../model.js';
import type { HostStep, OperationRepository } from '../ports.js';
import { updateHostRow } from './operation-host-rows.js';

export interface HostResult {
  id: string;
  host: string;
  step: HostStep;
  outcome: 'succeeded' | 'failed' | 'superseded';
  error: HostError | null;
  at: string;
}

/**
 * `late`: a preflight result for a host the deadline marked `unreachable` (the operation went on
 * without it): not written, the decision stands. One for a host whose preflight was closed as
 * `skipped` (the operation ended on another host's failure) is `ignored`, as a duplicate is.
 */
export type HostResultRecorded = 'recorded' | 'late' | 'ignored';

/**
 * A preflight result is written only over `pending`, conditionally (operation-host-rows.ts): once
 * the engine closed the host's preflight at the deadline and went on without it, a result that
 * arrives after that must not rewrite it — the change may already be committed, and the record
 * would show a committed change that a host refused in its preflight (the soak's seed 20261204).
 * Such a host still gets the apply (every host does) and checks the change again there.
 */
async function recordPreflight(
  operations: Pick<OperationRepository, 'getHost' | 'saveHost'>,
  result: HostResult,
): Promise<HostResultRecorded | 'missing'> {
  const { id, host, outcome, error, at } = result;
  let seen: OperationHostRecord | null = null;
  const written = await updateHostRow(operations, id, host, (row) => {
    seen = row;
    if (row.preflight !== 'pending') return null;
    return { ...row, preflight: outcome, error: outcome === 'failed' ? error : row.error, updatedAt: at };
  });
  if (written !== 'unchanged') return written === 'written' ? 'recorded' : 'missing';
  const closed = (seen as OperationHostRecord | null)?.preflight;
  return closed === 'unreachable' && outcome !== 'superseded' ? 'late' : 'ignored';
}

/**
 * A real apply result is written at once, without reading the row: only a duplicate's
 * `superseded` must look first (it never overwrites a settled step), and only a host with no row
 * yet (not targeted when the operation started) needs one made. A preflight result is written
 * only while the host's preflight is open (recordPreflight). A report naming an operation that
 * does not exist leaves no row behind.
 */
export async function recordHostResult(
  operations: Pick<OperationRepository, 'setHostStep' | 'host' | 'get' | 'putHost' | 'getHost' | 'saveHost'>,
  result: HostResult,
): Promise<HostResultRecorded> {
  const { id, host, step, outcome, error, at } = result;
  let existing: OperationHostRecord | null;
  if (step === 'preflight') {
    const recorded = await recordPreflight(operations, result);
    if (recorded !== 'missing') return recorded;
    existing = null;
  } else if (outcome !== 'superseded') {
    if (await operations.setHostStep(id, host, step, outcome, outcome === 'failed' ? error : undefined, at))
      return 'recorded';
    existing = null; // the merge just found no row: no need to read it again
  } else {
    existing = await operations.host(id, host);
  }
  if (!existing && !(await operations.get(id))) return 'ignored';
  const settled = existing?.[step] === 'succeeded' || existing?.[step] === 'failed';
  if (outcome === 'superseded' && settled) return 'ignored';
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
  return 'recorded';
}
