/**
 * The recorded history of a soak run (issue 22): everything the driver saw, as typed events in
 * the order they happened. The checker (checker.ts) verifies the invariants over it after the
 * run settles; a violation prints the seed and the window of events around it.
 *
 * The events mirror what the system really records (shared/model.ts, shared/messages.ts,
 * docs/reliability.md): operations with per-host preflight/apply steps, commands and reports
 * with generations, host rows with their applied generation, audit entries by operation. The
 * driver records what it observes through the public API, the queues, the agents' logs and the
 * storage dumps — never a secret value: bodies are recorded with secrets replaced (the canary
 * scan, invariant 6, checks that it was done).
 */
import type { HostStepStatus, OperationKind, OperationStatus } from '../../shared/model.js';

/** Every event has its place in the history and a time on the harness clock (ms from start). */
interface EventBase {
  /** Index in `History.events`, assigned by the recorder. */
  readonly seq: number;
  /** Milliseconds since the run started. */
  readonly at: number;
}

/** A caller's HTTP request to the API (body with every secret value replaced). */
export interface RequestEvent extends EventBase {
  readonly kind: 'request';
  readonly requestId: string;
  readonly caller: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly ifMatch: string | null;
  readonly body: unknown;
}

/** The API's answer. `operationId` is taken from `Operation-Location` (or the waited body). */
export interface ResponseEvent extends EventBase {
  readonly kind: 'response';
  readonly requestId: string;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly operationId: string | null;
  readonly body: unknown;
}

/** One observation of an operation (GET /api/operations/{id} or its table row). */
export interface OperationEvent extends EventBase {
  readonly kind: 'operation';
  readonly operationId: string;
  readonly ccsId: string;
  readonly opKind: OperationKind;
  readonly status: OperationStatus;
  readonly targetGeneration: number;
  readonly hosts: readonly { host: string; preflight: HostStepStatus; apply: HostStepStatus }[];
}

/** A command put on (or taken from) a host's queue. */
export interface CommandEvent extends EventBase {
  readonly kind: 'command';
  readonly ccsId: string;
  readonly host: string;
  readonly type: 'preflight' | 'apply' | 'scan';
  readonly operationId: string | null;
  readonly generation: number;
  readonly delivery: 'sent' | 'received' | 'duplicated' | 'delayed';
}

/** A report an agent sent (hello, result, drift). */
export interface ReportEvent extends EventBase {
  readonly kind: 'report';
  readonly ccsId: string;
  readonly host: string;
  readonly type: 'hello' | 'result' | 'drift' | 'inventory';
  readonly operationId: string | null;
  readonly phase: 'preflight' | 'apply' | null;
  readonly generation: number;
  readonly outcome: 'succeeded' | 'failed' | 'superseded' | null;
  readonly appliedGeneration: number;
}

/** A host's applied state as read from it (its state file and IIS / the simulated registry). */
export interface HostStateEvent extends EventBase {
  readonly kind: 'host-state';
  readonly ccsId: string;
  readonly host: string;
  readonly appliedGeneration: number;
  readonly actual: { enabled: boolean; path: string | null; username: string | null };
  /** The host row's `lastError` (e.g. unreachable, preflight failure), when there is one. */
  readonly lastError: { code: string; detail: string } | null;
}

/** The desired state of a ccs-id as the API answers it (GET), with its generation. */
export interface DesiredEvent extends EventBase {
  readonly kind: 'desired';
  readonly ccsId: string;
  readonly generation: number;
  readonly desired: { enabled: boolean; path: string | null; username: string | null };
}

/** One entry of the audit log (GET /api/audit). */
export interface AuditEvent extends EventBase {
  readonly kind: 'audit';
  readonly ccsId: string;
  readonly operationId: string;
  readonly changedFields: readonly string[];
}

/** Where the fault injector acted and for how long. */
export type FaultKind =
  | 'agent-kill'
  | 'storage-restart'
  | 'keyvault-throttle'
  | 'keyvault-outage'
  | 'queue-delay'
  | 'queue-duplicate'
  | 'clock-skew'
  | 'disk-full'
  | 'host-offline';

export interface FaultEvent extends EventBase {
  readonly kind: 'fault';
  readonly faultId: string;
  readonly fault: FaultKind;
  /** A host name, or the service (`storage`, `keyvault`). */
  readonly target: string;
  readonly edge: 'start' | 'end';
}

/** A line a process logged, or a dump of a table, queue or file at the end of the run. */
export interface TextEvent extends EventBase {
  readonly kind: 'log' | 'dump';
  readonly source: string;
  readonly text: string;
}

/** The run settled: no more requests or faults; what follows is the final observation. */
export interface SettledEvent extends EventBase {
  readonly kind: 'settled';
}

export type HistoryEvent =
  | RequestEvent
  | ResponseEvent
  | OperationEvent
  | CommandEvent
  | ReportEvent
  | HostStateEvent
  | DesiredEvent
  | AuditEvent
  | FaultEvent
  | TextEvent
  | SettledEvent;

/** A whole run: its seed (printed with every violation) and its events in order. */
export interface History {
  readonly seed: number;
  readonly events: readonly HistoryEvent[];
}

type Unsequenced<E> = E extends HistoryEvent ? Omit<E, 'seq' | 'at'> : never;

/** Builds a history: stamps each event with its sequence number and the harness clock. */
export class HistoryRecorder {
  private readonly events: HistoryEvent[] = [];

  constructor(
    readonly seed: number,
    private readonly now: () => number,
  ) {}

  record(event: Unsequenced<HistoryEvent>): void {
    this.events.push({ ...event, seq: this.events.length, at: this.now() });
  }

  history(): History {
    return { seed: this.seed, events: [...this.events] };
  }
}
