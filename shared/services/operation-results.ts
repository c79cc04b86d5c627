/** A host's step result, recorded on its operation's host row (from a `result` report). */
import type { HostError } from '../messages.js';
import type { OperationHostRecord } from '../model.js';
import { GroupCommit } from '../group-commit.js';
import {
  MAX_TRANSACTION_WRITES,
  type HostStep,
  type HostStepWrite,
  type OperationRepository,
  type Versioned,
} from '../ports.js';
import { BoundedMap } from '../bounded-map.js';

/** Rows remembered at most (the oldest is forgotten first): a few hundred bytes each. */
const MAX_KNOWN = 20_000;
/** Lost races in a row before giving up (a row has a handful of writers: the engine, one host's reports). */
const MAX_ATTEMPTS = 8;

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
 * A preflight result is written only over `pending`: once the engine closed the host's preflight
 * at the deadline and went on without it, a result that arrives after that must not rewrite it —
 * the change may already be committed, and the record would show a committed change that a host
 * refused in its preflight (the soak's seed 20261204). Such a host still gets the apply (every
 * host does) and checks the change again there. From the row as stored: the row to write (null:
 * none) and what the result became.
 */
function decidePreflight(
  row: OperationHostRecord,
  result: HostResult,
): { row: OperationHostRecord | null; recorded: HostResultRecorded } {
  const { outcome, error, at } = result;
  if (row.preflight !== 'pending') {
    return {
      row: null,
      recorded: row.preflight === 'unreachable' && outcome !== 'superseded' ? 'late' : 'ignored',
    };
  }
  const written = {
    ...row,
    preflight: outcome,
    error: outcome === 'failed' ? error : row.error,
    updatedAt: at,
  };
  return { row: written, recorded: 'recorded' };
}

/**
 * An apply result is written at once, without reading the row: only a duplicate's `superseded`
 * must look first (it never overwrites a settled step), and only a host with no row yet (not
 * targeted when the operation started) needs one made. A preflight result comes here only when
 * its batch found no row for the host (Preflights). A report naming an operation that does not
 * exist leaves no row behind.
 */
async function recordAlone(
  operations: Pick<OperationRepository, 'setHostStep' | 'host' | 'get' | 'putHost'>,
  result: HostResult,
  rowMissing: boolean,
): Promise<HostResultRecorded> {
  const { id, host, step, outcome, error, at } = result;
  let existing: OperationHostRecord | null;
  if (rowMissing) {
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

type ResultsStore = Pick<
  OperationRepository,
  'setHostStep' | 'setHostSteps' | 'host' | 'get' | 'putHost' | 'getHosts' | 'saveHosts'
>;

/**
 * Results of one operation recorded at the same time go to its partition as one entity-group
 * transaction (issue 18), not one request each: the queue trigger folds a batch of reports
 * concurrently.
 *
 * Apply results are merged blind: a host without a row fails the whole transaction (all or
 * nothing); it is taken out and recorded alone (`recordAlone` makes its row), the rest are sent
 * again. A duplicate's `superseded` apply reads first, as before, and is recorded alone.
 *
 * Preflight results are written only over `pending` (decidePreflight), as conditional replaces:
 * the rows are taken as this process last read or wrote them, with their ETags (one query of the
 * operation's host rows when one is unknown), decided, and written in one transaction. A row
 * another writer changed meanwhile (the engine closing it at the deadline) fails the transaction
 * at its index: that row is read again and every result of the batch decided again on what is
 * stored. A result is refused (`late`, `ignored`) only on a row read in this flush, never on a
 * remembered one: a rotation's next round sets its rows back to `pending`.
 */
export class HostResults {
  private readonly applies: GroupCommit<HostResult, void>;
  private readonly preflights: GroupCommit<HostResult, HostResultRecorded | 'missing'>;
  /** Operation host rows as last read or written, with ETags, by `<id>|<host>` (oldest forgotten first). */
  private readonly known = new BoundedMap<string, Versioned<OperationHostRecord>>(MAX_KNOWN);

  constructor(private readonly operations: ResultsStore) {
    this.applies = new GroupCommit((id, results) => this.flushApplies(id, results), MAX_TRANSACTION_WRITES);
    this.preflights = new GroupCommit(
      (id, results) => this.flushPreflights(id, results),
      MAX_TRANSACTION_WRITES,
    );
  }

  async record(result: HostResult): Promise<HostResultRecorded> {
    if (result.step === 'preflight') {
      const recorded = await this.preflights.add(result.id, result);
      return recorded === 'missing' ? recordAlone(this.operations, result, true) : recorded;
    }
    if (result.outcome === 'superseded') return recordAlone(this.operations, result, false);
    await this.applies.add(result.id, result);
    return 'recorded';
  }

  private async flushApplies(id: string, results: HostResult[]): Promise<void[]> {
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
    for (const r of alone) await recordAlone(this.operations, r, false);
    // The merges changed these rows' ETags: what this process knew of them is old.
    for (const name of byHost.keys()) this.known.delete(`${id}|${name}`);
    return results.map(() => undefined);
  }

  private async flushPreflights(
    id: string,
    results: HostResult[],
  ): Promise<(HostResultRecorded | 'missing')[]> {
    // Each host once per transaction: several results of one host are decided in order on one row.
    const byHost = new Map<string, number[]>();
    results.forEach((r, i) => {
      const name = r.host.toLowerCase();
      byHost.set(name, [...(byHost.get(name) ?? []), i]);
    });
    let readNow = false;
    for (let attempt = 1; ; attempt++) {
      const unsure = [...byHost.keys()].some((h) => {
        const known = this.known.get(`${id}|${h}`);
        return !known || (!readNow && known.record.preflight !== 'pending');
      });
      if (unsure) {
        await this.readRows(id);
        readNow = true;
      }
      const recorded: (HostResultRecorded | 'missing')[] = [];
      const writes: Versioned<OperationHostRecord>[] = [];
      const written: string[] = [];
      for (const [name, indexes] of byHost) {
        const stored = this.known.get(`${id}|${name}`);
        let row = stored?.record ?? null;
        let changed = false;
        for (const i of indexes) {
          if (!row) {
            recorded[i] = 'missing';
            continue;
          }
          const decided = decidePreflight(row, results[i]!);
          recorded[i] = decided.recorded;
          if (decided.row) [row, changed] = [decided.row, true];
        }
        if (stored && row && changed) {
          writes.push({ record: row, etag: stored.etag });
          written.push(name);
        }
      }
      if (writes.length === 0) return recorded;
      const outcome = await this.operations.saveHosts(id, writes);
      if ('etags' in outcome) {
        writes.forEach((w, i) =>
          this.remember(id, written[i]!, { record: w.record, etag: outcome.etags[i]! }),
        );
        return recorded;
      }
      if (attempt >= MAX_ATTEMPTS) {
        // Thrown, not ignored: the reports are retried by their queue.
        throw new Error(`host rows of operation ${id} kept changing under ${MAX_ATTEMPTS} writes`);
      }
      this.known.delete(`${id}|${written[outcome.lost]!}`);
    }
  }

  /** Every host row of the operation, as stored now (one query). */
  private async readRows(id: string): Promise<void> {
    for (const row of await this.operations.getHosts(id))
      this.remember(id, row.record.host.toLowerCase(), row);
  }

  private remember(id: string, host: string, row: Versioned<OperationHostRecord>): void {
    this.known.set(`${id}|${host}`, row);
  }
}
