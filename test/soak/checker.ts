/**
 * Checks a soak history against the invariants (invariants.ts) and renders what it found: the
 * seed that reproduces the run and, per violation, the smallest window of history that shows
 * it — the events it names, the events between them that concern the same hosts, operations or
 * requests, every fault open at that time, and a couple of neighbours for context.
 */
import type { History, HistoryEvent } from './history.js';
import { INVARIANTS, type Violation } from './invariants.js';

export interface CheckOptions {
  readonly canaries: readonly string[];
  /** Default 5,000 ms. */
  readonly outageGraceMs?: number;
}

export interface CheckResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
}

export function checkHistory(history: History, options: CheckOptions): CheckResult {
  const context = {
    events: history.events,
    canaries: options.canaries,
    outageGraceMs: options.outageGraceMs ?? 5000,
  };
  return { seed: history.seed, violations: INVARIANTS.flatMap((invariant) => invariant.check(context)) };
}

/** What an event is about: its host, operation and request, for picking related events. */
function subjects(event: HistoryEvent): string[] {
  const keys: string[] = [];
  if ('host' in event) keys.push(`host:${event.host}`);
  if ('operationId' in event && event.operationId !== null) keys.push(`op:${event.operationId}`);
  if ('requestId' in event) keys.push(`req:${event.requestId}`);
  return keys;
}

const NEIGHBOURS = 2;

/** The seqs of the window around a violation, in order. */
export function violationWindow(events: readonly HistoryEvent[], violation: Violation): number[] {
  const named = [...violation.events].sort((a, b) => a - b);
  const first = named[0] ?? 0;
  const last = named.at(-1) ?? first;
  const related = new Set(named.flatMap((seq) => (events[seq] ? subjects(events[seq]) : [])));
  const from = Math.max(0, first - NEIGHBOURS);
  const to = Math.min(events.length - 1, last + NEIGHBOURS);
  const picked = new Set<number>();
  const openFaults = new Map<string, number>();
  for (let seq = 0; seq <= to; seq++) {
    const event = events[seq]!;
    if (event.kind === 'fault') {
      if (event.edge === 'start') openFaults.set(event.faultId, seq);
      else if (seq < from) openFaults.delete(event.faultId);
    }
    if (seq < from) continue;
    const near = seq < first + 1 + NEIGHBOURS && seq >= first - NEIGHBOURS;
    const nearLast = seq > last - 1 - NEIGHBOURS && seq <= last + NEIGHBOURS;
    if (near || nearLast || named.includes(seq) || subjects(event).some((s) => related.has(s)))
      picked.add(seq);
    if (event.kind === 'fault' && seq <= last) picked.add(seq);
  }
  for (const seq of openFaults.values()) picked.add(seq);
  return [...picked].sort((a, b) => a - b);
}

function line(event: HistoryEvent, marked: boolean): string {
  const { seq, at, kind, ...rest } = event;
  return `${marked ? '>' : ' '} #${seq} +${(at / 1000).toFixed(3)}s ${kind} ${JSON.stringify(rest)}`;
}

/** The report a failing soak prints. */
export function formatViolations(history: History, result: CheckResult): string {
  if (result.violations.length === 0) return `soak seed ${result.seed}: 0 invariant violations`;
  const parts = [`soak seed ${result.seed}: ${result.violations.length} invariant violation(s)`];
  for (const v of result.violations) {
    parts.push(`\ninvariant ${v.invariant} (${INVARIANTS[v.invariant - 1]?.name ?? '?'}): ${v.message}`);
    for (const seq of violationWindow(history.events, v)) {
      parts.push(line(history.events[seq]!, v.events.includes(seq)));
    }
  }
  parts.push(`\nreproduce: npm run soak -- --seed ${result.seed}`);
  return parts.join('\n');
}
