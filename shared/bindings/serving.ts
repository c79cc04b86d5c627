/**
 * Reading serving checks: which belong to an operation, and what one said about a binding. The
 * rollout gate asks "did this binding serve `ok` before the change?" with `bindingStatus` over
 * the host's check before the operation's generation (BindingsService.servingBefore).
 */
import type { CcsBinding, ServingResult } from '../messages.js';
import type { OperationHostRecord, OperationRecord } from '../model.js';
import type { ServingRecord } from './model.js';

export type ServingStatus = ServingResult['status'];

const sameBinding = (a: Pick<CcsBinding, 'site' | 'hostName' | 'port' | 'ip'>, b: typeof a): boolean =>
  a.site === b.site &&
  a.hostName.toLowerCase() === b.hostName.toLowerCase() &&
  a.port === b.port &&
  a.ip === b.ip;

/**
 * What `check` says about `binding`: its status when listed; when it is not listed (a long list
 * keeps the worst results), the status every unlisted result shares, if they share one; else
 * `unknown`. A binding the check did not cover at all is `unknown` too.
 */
export function bindingStatus(
  check: Pick<ServingRecord, 'counts' | 'results' | 'omitted'>,
  binding: Pick<CcsBinding, 'site' | 'hostName' | 'port' | 'ip'>,
): ServingStatus | 'unknown' {
  const listed = check.results.find((r) => sameBinding(r, binding));
  if (listed) return listed.status;
  if (check.omitted === 0) return 'unknown';
  const unlisted = (Object.keys(check.counts) as ServingStatus[]).filter(
    (status) => check.counts[status] - check.results.filter((r) => r.status === status).length > 0,
  );
  return unlisted.length === 1 ? unlisted[0]! : 'unknown';
}

/**
 * Whether an operation committed its generation (so that generation's checks are its own): it is
 * applying, it succeeded, or a host reported an apply for it. An operation that failed before its
 * commit shares its target generation with the next change, whose checks are not its own.
 */
export function operationCommitted(op: OperationRecord, hosts: readonly OperationHostRecord[]): boolean {
  if (op.phase === 'apply' || op.status === 'Succeeded') return true;
  return hosts.some((h) => h.apply !== 'pending' && h.apply !== 'skipped');
}

/** The checks of `op`: its own apply commands', and catch-up applies of its generation once committed. */
export function servingOfOperation(
  op: OperationRecord,
  hosts: readonly OperationHostRecord[],
  checks: readonly ServingRecord[],
): ServingRecord[] {
  const committed = operationCommitted(op, hosts);
  return checks.filter(
    (c) =>
      c.generation === op.targetGeneration &&
      (c.operationId === op.id || (c.operationId === null && committed)),
  );
}
