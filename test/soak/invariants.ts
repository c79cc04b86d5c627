/**
 * The seven invariants of issue 22, each a pure function from a history to its violations.
 * A violation names the events it is about (by `seq`), so the checker can print the window
 * of history around them.
 */
import { isTerminal } from '../../shared/model.js';
import type {
  AuditEvent,
  HistoryEvent,
  HostStateEvent,
  OperationEvent,
  RequestEvent,
  ResponseEvent,
} from './history.js';

export interface Violation {
  readonly invariant: number;
  readonly message: string;
  /** The events the violation is about. */
  readonly events: readonly number[];
}

export interface InvariantContext {
  readonly events: readonly HistoryEvent[];
  /** Every secret value the run used (identity and private-key passwords, keys, tokens). */
  readonly canaries: readonly string[];
  /** How long after an injected outage ends a 503 is still its consequence. */
  readonly outageGraceMs: number;
}

const only = <K extends HistoryEvent['kind']>(events: readonly HistoryEvent[], kind: K) =>
  events.filter((e): e is Extract<HistoryEvent, { kind: K }> => e.kind === kind);

/** The last observation of each operation. */
function finalOperations(events: readonly HistoryEvent[]): Map<string, OperationEvent> {
  const last = new Map<string, OperationEvent>();
  for (const op of only(events, 'operation')) last.set(op.operationId, op);
  return last;
}

function lastHostStates(events: readonly HistoryEvent[]): Map<string, HostStateEvent> {
  const last = new Map<string, HostStateEvent>();
  for (const s of only(events, 'host-state')) last.set(`${s.ccsId}/${s.host}`, s);
  return last;
}

/**
 * Whether an operation failed its preflight: it ended Failed with a host whose preflight step
 * says `failed`. The API writes a preflight result only while that host's preflight is open: a
 * host silent past the preflight deadline is marked `unreachable` and the change commits without
 * it (docs/operations.md); a result it sends after that is not written, and when it refuses the
 * change at its apply, that is its apply step's failure. So a `failed` preflight on an operation
 * that sent apply is a violation whenever the failure came (an earlier checker excused one that
 * came after the first apply, and hid the seed-20261204 bug: the late result overwrote the mark).
 */
function failedPreflight(op: OperationEvent): boolean {
  return op.status === 'Failed' && op.hosts.some((h) => h.preflight === 'failed');
}

/** Requests answered with an operation: the accepted changes. */
function acceptedChanges(
  events: readonly HistoryEvent[],
): { request: RequestEvent; response: ResponseEvent }[] {
  const requests = new Map(only(events, 'request').map((r) => [r.requestId, r]));
  return only(events, 'response').flatMap((response) => {
    const request = requests.get(response.requestId);
    if (!request || request.method === 'GET' || response.status >= 300 || response.operationId === null)
      return [];
    return [{ request, response }];
  });
}

/** 1. Every host converges to the final desired state, or is reported failed with a reason. */
export function convergence({ events }: InvariantContext): Violation[] {
  const out: Violation[] = [];
  for (const op of finalOperations(events).values()) {
    if (!isTerminal(op.status)) {
      out.push({ invariant: 1, message: `operation ${op.operationId} still ${op.status}`, events: [op.seq] });
    } else if (op.hosts.some((h) => h.preflight === 'pending' || h.apply === 'pending')) {
      out.push({
        invariant: 1,
        message: `operation ${op.operationId} ended with a host pending`,
        events: [op.seq],
      });
    }
  }
  const desired = new Map(only(events, 'desired').map((d) => [d.ccsId, d]));
  for (const state of lastHostStates(events).values()) {
    const want = desired.get(state.ccsId);
    if (!want) continue;
    const same =
      state.appliedGeneration === want.generation &&
      state.actual.enabled === want.desired.enabled &&
      (!want.desired.enabled ||
        (state.actual.path === want.desired.path && state.actual.username === want.desired.username));
    if (!same && state.lastError === null) {
      out.push({
        invariant: 1,
        message: `host ${state.host} ended at generation ${state.appliedGeneration}, desired ${want.generation}, with no error reported`,
        events: [want.seq, state.seq],
      });
    }
  }
  return out;
}

/** 2. No host ever applied a generation whose operation failed its preflight. */
export function noApplyAfterFailedPreflight({ events }: InvariantContext): Violation[] {
  const out: Violation[] = [];
  const failed = [...finalOperations(events).values()].filter(failedPreflight);
  const failedIds = new Set(failed.map((op) => op.operationId));
  const applies = only(events, 'command').filter((c) => c.type === 'apply');
  for (const command of applies) {
    if (command.operationId !== null && failedIds.has(command.operationId)) {
      out.push({
        invariant: 2,
        message: `apply sent to ${command.host} for ${command.operationId}, which failed its preflight`,
        events: [command.seq],
      });
    }
  }
  // A generation only ever proposed by failed operations was never committed: no host may show it.
  const committed = new Set(applies.map((c) => `${c.ccsId}/${c.generation}`));
  const failedGenerations = new Map(failed.map((op) => [`${op.ccsId}/${op.targetGeneration}`, op]));
  for (const state of only(events, 'host-state')) {
    const key = `${state.ccsId}/${state.appliedGeneration}`;
    const op = failedGenerations.get(key);
    if (op && !committed.has(key)) {
      out.push({
        invariant: 2,
        message: `host ${state.host} applied generation ${state.appliedGeneration} of ${op.operationId}, which failed its preflight`,
        events: [op.seq, state.seq],
      });
    }
  }
  return out;
}

/** 3. The generations each host applied only increase. */
export function generationsIncrease({ events }: InvariantContext): Violation[] {
  const out: Violation[] = [];
  const previous = new Map<string, HostStateEvent>();
  for (const state of only(events, 'host-state')) {
    const key = `${state.ccsId}/${state.host}`;
    const before = previous.get(key);
    if (before && state.appliedGeneration < before.appliedGeneration) {
      out.push({
        invariant: 3,
        message: `host ${state.host} went back from generation ${before.appliedGeneration} to ${state.appliedGeneration}`,
        events: [before.seq, state.seq],
      });
    }
    previous.set(key, state);
  }
  return out;
}

/**
 * 4. Every accepted request has exactly one operation with a final status, and every operation
 * that succeeded was seen applied by all its targeted hosts (those not marked unreachable or
 * skipped in its preflight).
 */
export function operationsAccountedFor({ events }: InvariantContext): Violation[] {
  const out: Violation[] = [];
  const operations = finalOperations(events);
  const byOperation = new Map<string, ResponseEvent[]>();
  for (const { response } of acceptedChanges(events)) {
    const id = response.operationId!;
    byOperation.set(id, [...(byOperation.get(id) ?? []), response]);
    const op = operations.get(id);
    if (!op || !isTerminal(op.status)) {
      out.push({
        invariant: 4,
        message: `accepted request ${response.requestId} has no final operation`,
        events: [response.seq],
      });
    }
  }
  for (const [id, responses] of byOperation) {
    if (responses.length > 1) {
      out.push({
        invariant: 4,
        message: `operation ${id} answers ${responses.length} requests`,
        events: responses.map((r) => r.seq),
      });
    }
  }
  const states = only(events, 'host-state');
  for (const op of operations.values()) {
    if (op.status !== 'Succeeded') continue;
    for (const h of op.hosts) {
      if (h.preflight === 'unreachable' || h.preflight === 'skipped') continue;
      const applied = states.find(
        (s) => s.ccsId === op.ccsId && s.host === h.host && s.appliedGeneration >= op.targetGeneration,
      );
      if (!applied) {
        out.push({
          invariant: 4,
          message: `operation ${op.operationId} succeeded but ${h.host} was never seen at generation ${op.targetGeneration}`,
          events: [op.seq],
        });
      }
    }
  }
  return out;
}

/** 5. No 5xx, except 503 with Retry-After while an injected outage lasts. */
export function noServerErrors({ events, outageGraceMs }: InvariantContext): Violation[] {
  const requests = new Map(only(events, 'request').map((r) => [r.requestId, r]));
  const outages: { start: number; end: number }[] = [];
  const open = new Map<string, number>();
  for (const f of only(events, 'fault')) {
    if (f.fault !== 'storage-restart' && f.fault !== 'keyvault-outage' && f.fault !== 'keyvault-throttle')
      continue;
    if (f.edge === 'start') open.set(f.faultId, f.at);
    else outages.push({ start: open.get(f.faultId) ?? 0, end: f.at + outageGraceMs });
  }
  for (const start of open.values()) outages.push({ start, end: Number.POSITIVE_INFINITY });
  return only(events, 'response').flatMap((response) => {
    if (response.status < 500) return [];
    const sent = requests.get(response.requestId)?.at ?? response.at;
    const duringOutage = outages.some((o) => sent <= o.end && response.at >= o.start);
    if (response.status === 503 && response.retryAfter !== null && duringOutage) return [];
    const why =
      response.status !== 503
        ? ''
        : response.retryAfter === null
          ? ' without Retry-After'
          : ' outside any outage';
    return [
      {
        invariant: 5,
        message: `${response.status}${why} for request ${response.requestId}`,
        events: [response.seq],
      },
    ];
  });
}

/** The forms a secret can take in recorded text. */
function canaryForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ];
}

/** 6. No secret value anywhere in the history: bodies, reports, logs, dumps of tables and queues. */
export function noSecrets({ events, canaries }: InvariantContext): Violation[] {
  const forms = canaries.filter((c) => c.length > 0).map((c) => ({ secret: c, forms: canaryForms(c) }));
  return events.flatMap((event) => {
    const text = JSON.stringify(event);
    const hit = forms.find((c) => c.forms.some((f) => text.includes(f)));
    return hit
      ? [{ invariant: 6, message: `a secret value appears in a ${event.kind} event`, events: [event.seq] }]
      : [];
  });
}

/** 7. The audit log has exactly one entry per accepted change (and none for anything else). */
export function oneAuditEntryPerChange({ events }: InvariantContext): Violation[] {
  const out: Violation[] = [];
  const entries = new Map<string, AuditEvent[]>();
  for (const a of only(events, 'audit'))
    entries.set(a.operationId, [...(entries.get(a.operationId) ?? []), a]);
  const accepted = new Set<string>();
  for (const { response } of acceptedChanges(events)) {
    const id = response.operationId!;
    accepted.add(id);
    const found = entries.get(id) ?? [];
    if (found.length !== 1) {
      out.push({
        invariant: 7,
        message: `accepted change ${id} has ${found.length} audit entries`,
        events: [response.seq, ...found.map((a) => a.seq)],
      });
    }
  }
  for (const [id, found] of entries) {
    if (!accepted.has(id)) {
      out.push({
        invariant: 7,
        message: `audit entry for ${id}, which no accepted request started`,
        events: found.map((a) => a.seq),
      });
    }
  }
  return out;
}

/** The checks, in the order. */
export const INVARIANTS: readonly { name: string; check: (ctx: InvariantContext) => Violation[] }[] = [
  { name: 'every host converges or reports why not; no operation left pending', check: convergence },
  {
    name: 'no host applies a generation whose operation failed preflight',
    check: noApplyAfterFailedPreflight,
  },
  { name: "each host's applied generations only increase", check: generationsIncrease },
  {
    name: 'each accepted request has one final operation; succeeded ones applied everywhere',
    check: operationsAccountedFor,
  },
  { name: 'no 5xx but 503 with Retry-After during injected outages', check: noServerErrors },
  { name: 'no secret value in the history', check: noSecrets },
  { name: 'exactly one audit entry per accepted change', check: oneAuditEntryPerChange },
];
