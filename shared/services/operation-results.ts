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

/**
 * Results of one operation recorded at the same time go to its partition as one entity-group
 * transaction of merges (issue 18), not one request each: the queue trigger folds a batch of
 * reports concurrently. A host without a row fails the whole transaction (all or nothing); it
 * is taken out and recorded alone (`recordHostResult` makes its row), the rest are sent again.
 * A duplicate's `superseded` reads first, as before, and is recorded alone.
 */
export class HostResults {
  private readonly commits: GroupCommit<HostResult, void>;

  constructor(
    private readonly operations: Pick<
      OperationRepository,
      'setHostStep' | 'setHostSteps' | 'host' | 'get' | 'putHost'
    >,
  ) {
    this.commits = new GroupCommit((id, results) => this.flush(id, results), MAX_TRANSACTION_WRITES);
  }

  record(result: HostResult): Promise<void> {
    if (result.outcome === 'superseded') return recordHostResult(this.operations, result);
    return this.commits.add(result.id, result);
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
