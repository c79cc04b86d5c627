/** A host's step result, recorded on its operation's host row (from a `result` report). */
import type { HostError } from '../messages.js';
import type { OperationHostRecord } from '../model.js';
import { GroupCommit } from '../group-commit.js';
import {
  MAX_TRANSACTION_WRITES,
  type HostStep,
  type HostStepWrite,
  type OperationRepository,
} from '../ports.js';
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

/**
 * Results of one operation recorded at the same time go to its partition as one entity-group
 * transaction of merges (issue 18), not one request each: the queue trigger folds a batch of
 * reports concurrently. A host without a row fails the whole transaction (all or nothing); it
 * is taken out and recorded alone (`recordHostResult` makes its row), the rest are sent again.
 * A duplicate's `superseded` reads first, as before, and is recorded alone; so is a preflight
 * result, which is written only over `pending` and conditionally (recordPreflight).
 */
export class HostResults {
  private readonly commits: GroupCommit<HostResult, void>;

  constructor(
    private readonly operations: Pick<
      OperationRepository,
      'setHostStep' | 'setHostSteps' | 'host' | 'get' | 'putHost' | 'getHost' | 'saveHost'
    >,
  ) {
    this.commits = new GroupCommit((id, results) => this.flush(id, results), MAX_TRANSACTION_WRITES);
  }

  async record(result: HostResult): Promise<HostResultRecorded> {
    if (result.outcome === 'superseded' || result.step === 'preflight')
      return recordHostResult(this.operations, result);
    await this.commits.add(result.id, result);
    return 'recorded';
  }

  private async flush(id: string, results: HostResult[]): Promise<void[]> {
    // One merge per host (a transaction names each entity once); later results win per step.
    const byHost = new Map<string, HostStepWrite>();
    for (const r of results) {
      const name = r.host.toLowerCase();
      const write = byHost.get(name) ?? { host: r.host, steps: {}, updatedAt: r.at };
      write.steps[r.step] = r.outcome;
      write.updatedAt = r.at;
      if (r.outcome === 'failed') write.error = r.error;
      byHost.set(name, write);
    }
    let writes = [...byHost.values()];
    const alone: HostResult[] = [];
    while (writes.length > 0) {
      const outcome = await this.operations.setHostSteps(id, writes);
      if (outcome === null) break;
      const missing = writes[outcome.missing]!.host.toLowerCase();
      alone.push(...results.filter((r) => r.host.toLowerCase() === missing));
      writes = writes.filter((_, i) => i !== outcome.missing);
    }
    for (const r of alone) await recordHostResult(this.operations, r);
    return results.map(() => undefined);
  }
}
