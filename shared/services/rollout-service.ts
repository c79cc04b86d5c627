/**
 * Rollouts as callers see them (issue 19, docs/rollouts.md): a ccs-id's policy (GET/PUT
 * `…/{ccs-id}/rollout`), the policy a change runs under, the one-rollout-at-a-time rule, and an
 * operator's resume, rollback or cancel of a rollout. The engine carries requests out: this
 * service writes them on the operation record (conditionally) and advances it.
 */
import { randomUUID } from 'node:crypto';
import { DomainError, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { OperationRecord } from '../model.js';
import { assertCcsId } from '../names.js';
import type { Clock, Stores } from '../ports.js';
import type { RolloutRequest } from '../rollout/model.js';
import { DEFAULT_POLICY, type RolloutPolicy } from '../rollout/policy.js';
import type { Caller } from './ccs-service.js';
import type { OperationEngine } from './operation-engine.js';

const OPERATION_ID = /^[0-9a-f-]{36}$/;
/** Phases in which a rollout holds its ccs-id: its desired state is committed and waves run. */
const HOLDING: ReadonlySet<OperationRecord['phase']> = new Set(['waves', 'halted', 'rollback']);
/** Conditional writes of a request retried this often against concurrent advances. */
const REQUEST_ATTEMPTS = 5;

export class RolloutService {
  constructor(
    private readonly stores: Pick<Stores, 'rollouts' | 'operations' | 'desired' | 'audit'>,
    private readonly engine: Pick<OperationEngine, 'advance'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The ccs-id's policy: the stored one, or the default (every host at once). */
  async policy(ccsId: string): Promise<RolloutPolicy> {
    return (await this.stores.rollouts.get(assertCcsId(ccsId))) ?? DEFAULT_POLICY;
  }

  /** Replace the ccs-id's policy; it applies to changes accepted from now on. */
  async setPolicy(ccsId: string, policy: RolloutPolicy, caller: Caller): Promise<RolloutPolicy> {
    await this.stores.rollouts.put(assertCcsId(ccsId), policy);
    this.log.info('rollout policy set', { ccsId, by: caller.id });
    return policy;
  }

  /**
   * Before a POST or PATCH: 409 naming the running rollout when there is one (a change waits
   * for it to end, or for its DELETE); otherwise the policy the change runs under — the
   * request's own, else the ccs-id's.
   */
  async forChange(ccsId: string, override: RolloutPolicy | undefined): Promise<RolloutPolicy> {
    const running = await this.runningRollout(ccsId);
    if (running) {
      throw new DomainError(
        'conflict',
        'RolloutInProgress',
        `A rollout of this ccs-id is in progress (operation ${running.id}, ${running.rollout?.state ?? 'rolling'}); wait for it, resume or roll it back, or DELETE to stop it`,
        'id',
      );
    }
    return override ?? (await this.policy(ccsId));
  }

  /** Before a DELETE: a running rollout is stopped (it ends `Canceled`, no further wave starts). */
  async stopForDisable(ccsId: string, caller: Caller): Promise<void> {
    const running = await this.runningRollout(ccsId);
    if (running && running.phase !== 'rollback') await this.request(running.id, 'cancel', caller);
  }

  /**
   * POST /api/operations/{id}/resume or /rollback: only a halted rollout takes either (409
   * otherwise). Audited like a change; the operation's record says who asked.
   */
  async request(id: string, kind: RolloutRequest['kind'], caller: Caller): Promise<OperationRecord> {
    for (let attempt = 0; attempt < REQUEST_ATTEMPTS; attempt++) {
      const loaded = OPERATION_ID.test(id) ? await this.stores.operations.get(id) : null;
      if (!loaded) throw notFound('id', 'Operation not found', 'OperationNotFound');
      const op = loaded.record;
      const allowed =
        kind === 'cancel' ? op.phase === 'waves' || op.phase === 'halted' : op.phase === 'halted';
      if (!op.rollout || op.status !== 'Running' || !allowed) {
        throw new DomainError(
          'conflict',
          'RolloutNotHalted',
          op.rollout
            ? `The rollout is ${op.rollout.state}; only a halted rollout can be resumed or rolled back`
            : 'The operation has no rollout',
          'id',
        );
      }
      const at = this.clock.now().toISOString();
      const request: RolloutRequest = { kind, by: caller.id, at };
      const written = await this.stores.operations.save(
        { ...op, rollout: { ...op.rollout, request }, updatedAt: at },
        loaded.etag,
      );
      if (written === null) continue;
      await this.audit(op, kind, caller, at);
      this.log.info('rollout request', { operationId: op.id, ccsId: op.ccsId, kind, by: caller.id });
      return (await this.engine.advance(op.id)) ?? op;
    }
    throw new DomainError('conflict', 'Conflict', 'The operation kept changing; try again', 'id');
  }

  /** The audit entry of an operator's request: on the rollout's operation, as `rollout.<kind>`. */
  private async audit(op: OperationRecord, kind: RolloutRequest['kind'], caller: Caller, at: string) {
    await this.stores.audit.append({
      id: randomUUID(),
      at,
      who: caller.id,
      ccsId: op.ccsId,
      operationId: op.id,
      kind: `rollout.${kind}`,
      changes: [{ field: 'rollout.state', from: op.rollout?.state ?? null, to: kind }],
      status: 'Running',
    });
  }

  /** The ccs-id's rollout holding it: the operation that committed its desired state, still running. */
  private async runningRollout(ccsId: string): Promise<OperationRecord | null> {
    const current = await this.stores.desired.get(ccsId);
    const id = current?.record.lastOperationId;
    if (!id) return null;
    const op = (await this.stores.operations.get(id))?.record;
    return op?.rollout && op.status === 'Running' && HOLDING.has(op.phase) ? op : null;
  }
}
