/**
 * The soak's driver: sends each planned change (changes.ts) through the real HTTP API, follows
 * every operation it was given until the operation ends, and records each observation of it.
 * A 503 is retried after its Retry-After, as a well-behaved client does; each retry is a request
 * of its own in the history.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { HostStepStatus, OperationKind, OperationStatus } from '../../shared/model.js';
import { isTerminal } from '../../shared/model.js';
import type { SoakApi } from './api-client.js';
import type { PlannedChange, PlannedRequest } from './changes.js';
import type { HistoryRecorder } from './history.js';

export interface DriverFigures {
  changes: Record<string, number>;
  requests: number;
  /** Answers by status. */
  answers: Record<string, number>;
  /** Operations by final status (`unfinished`: still running when the driver gave up). */
  operations: Record<string, number>;
}

interface OperationBody {
  id: string;
  status: OperationStatus;
  kind: OperationKind;
  ccs_id: string;
  generation: number;
  hosts: { name: string; preflight: HostStepStatus; apply: HostStepStatus }[];
}

export class SoakDriver {
  readonly figures: DriverFigures = { changes: {}, requests: 0, answers: {}, operations: {} };
  private readonly seen = new Map<string, string>();
  private readonly following = new Set<Promise<void>>();

  /**
   * @param operationWaitMs how long an operation is followed before the driver gives up on it
   * @param changeWaitMs how long the next change waits for the operations of this one; past
   *   that they are followed in the background and the next change overlaps them, as changes
   *   from several administrators do
   */
  constructor(
    private readonly api: SoakApi,
    private readonly recorder: HistoryRecorder,
    private readonly resource: string,
    private readonly operationWaitMs: number,
    private readonly changeWaitMs = Number.POSITIVE_INFINITY,
  ) {}

  /** Sends a change's requests together and waits (up to changeWaitMs) for their operations. */
  async run(change: PlannedChange): Promise<void> {
    this.figures.changes[change.kind] = (this.figures.changes[change.kind] ?? 0) + 1;
    const etag = change.requests.some((r) => r.ifMatch) ? await this.currentEtag() : undefined;
    const operations = await Promise.all(change.requests.map((r) => this.send(r, etag)));
    const follows = operations.flatMap((id) => (id ? [this.follow(id)] : []));
    for (const f of follows) {
      this.following.add(f);
      void f.finally(() => this.following.delete(f));
    }
    const all = Promise.all(follows).then(() => undefined);
    if (!Number.isFinite(this.changeWaitMs)) return all;
    await Promise.race([all, delay(this.changeWaitMs)]);
  }

  /** Waits for the operations followed in the background, then follows any unfinished again. */
  async finish(): Promise<void> {
    while (this.following.size > 0) await Promise.all([...this.following]);
    await Promise.all(this.unfinished().map((id) => this.follow(id)));
  }

  /** Operation ids the driver was given whose last observation is not terminal. */
  unfinished(): string[] {
    return [...this.seen].filter(([, status]) => !isTerminal(status as OperationStatus)).map(([id]) => id);
  }

  private async currentEtag(): Promise<string | undefined> {
    const res = await this.api.call('race-reader', 'GET', this.resource);
    return res.headers.get('etag') ?? undefined;
  }

  private async send(request: PlannedRequest, etag: string | undefined): Promise<string | null> {
    for (let attempt = 0; ; attempt++) {
      this.figures.requests += 1;
      const res = await this.api.call(request.caller, request.method, this.resource, {
        ...(request.body ? { body: request.body } : {}),
        ...(request.ifMatch && etag ? { ifMatch: etag } : {}),
      });
      this.figures.answers[res.status] = (this.figures.answers[res.status] ?? 0) + 1;
      if (res.status === 503 && attempt < 4) {
        await delay(Math.min(10, Number(res.headers.get('retry-after') ?? 1)) * 1000 + 200);
        continue;
      }
      if (res.operationId) this.seen.set(res.operationId, 'NotStarted');
      return res.status < 300 ? res.operationId : null;
    }
  }

  private async follow(id: string): Promise<void> {
    const deadline = Date.now() + this.operationWaitMs;
    let last = '';
    while (Date.now() < deadline) {
      const res = await this.api.call('follower', 'GET', `/operations/${id}`);
      if (res.status === 200) {
        const op = res.body as OperationBody;
        const hosts = op.hosts.map((h) => ({ host: h.name, preflight: h.preflight, apply: h.apply }));
        const key = JSON.stringify([op.status, hosts]);
        if (key !== last) {
          last = key;
          this.recorder.record({
            kind: 'operation',
            operationId: op.id,
            ccsId: op.ccs_id,
            opKind: op.kind,
            status: op.status,
            targetGeneration: op.generation,
            hosts,
          });
        }
        this.seen.set(id, op.status);
        if (isTerminal(op.status)) {
          this.figures.operations[op.status] = (this.figures.operations[op.status] ?? 0) + 1;
          return;
        }
      }
      await delay(500);
    }
  }
}
