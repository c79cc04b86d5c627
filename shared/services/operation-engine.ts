/**
 * Runs a change across a fleet in two phases (README: "How a change travels"): every targeted
 * host preflights the proposed state; only when no reachable host failed does the change commit
 * (generation + 1, conditional on the generation it was computed from) and the hosts apply it.
 *
 * This module is the I/O around the pure state machine of operation-machine.ts: read the facts
 * the operation's phase needs, ask `next`, perform the step, repeat until it says wait. It is
 * level-triggered: `advance` can run any number of times, from reports, the sweeper or a waiting
 * request, in any process, and always moves the operation forward; a conditional write that
 * loses to another process just means reading the operation again.
 */
import { randomUUID } from 'node:crypto';
import { Coalescer } from '../coalesce.js';
import { eachLimited } from '../each-limited.js';
import type { Logger } from '../log.js';
import { MESSAGE_VERSION, type DesiredState, type HostError } from '../messages.js';
import {
  isTerminal,
  type CcsRecord,
  type HostStepStatus,
  type OperationHostRecord,
  type OperationKind,
  type OperationPhase,
  type OperationRecord,
  type RotationPlan,
} from '../model.js';
import type { ReencryptReport } from '../publishing/messages.js';
import type { Clock, CommandBus, HostStep, Stores } from '../ports.js';
import { describeChanges } from './audit-log.js';
import { closePendingSteps } from './operation-closing.js';
import { commandsNotSent } from './operation-errors.js';
import { readFacts } from './operation-facts.js';
import { updateHostRow } from './operation-host-rows.js';
import { HostResults } from './operation-results.js';
import type { RolloutPolicy } from '../rollout/policy.js';
import {
  commitRollback,
  commitToFirstWave,
  initialRollout,
  roll,
  type Held,
  type StepContext,
} from './rollout-steps.js';
import {
  afterReencrypted,
  afterStaged,
  afterStagedApplied,
  reencryptCommand,
  roundState,
} from './operation-rotation.js';
import {
  initialTransition,
  next,
  TRANSITIONS,
  type MachinePolicy,
  type OperationFacts,
  type Step,
  type TransitionId,
} from './operation-machine.js';

/** A commit left half-done is resumed by the sweeper or a report after this long by default. */
const DEFAULT_STUCK_COMMIT_MS = 30_000;
/**
 * Commands in flight at once in a fan-out: enough to keep storage busy, few enough not to open a
 * thousand connections from one Function instance at once.
 */
const FAN_OUT_CONCURRENCY = 256;
/** Steps one advance takes at most (a full run is four); the rest waits for the next advance. */
const MAX_STEPS = 8;

export interface EngineOptions {
  preflightTimeoutMs: number;
  operationTimeoutMs: number;
  /** A commit left half-done (process died) is resumed after this long. */
  stuckCommitMs?: number;
}

/** A change the API accepted, as the engine starts it. */
export interface ChangeInput {
  ccsId: string;
  kind: OperationKind;
  proposed: DesiredState;
  changedFields: string[];
  /** The desired state the change was computed from (null: never configured). */
  base: CcsRecord | null;
  requestedBy: string;
  /** The rollout policy it runs under (absent or default: every host at once). */
  rollout?: RolloutPolicy | null;
  /** `?force=true`: preflight skips the bound-names check; recorded on the operation and audit entry. */
  force?: boolean;
  /** The requester's display name beside the id, for the audit log (Entra callers). */
  requestedByName?: string;
}

export class OperationEngine {
  private readonly policy: MachinePolicy;
  /** What the rollout steps (rollout-steps.ts) use of this engine. */
  private readonly steps: StepContext;
  /** Host results, recorded in transactions per operation (operation-results.ts). */
  private readonly results: HostResults;

  constructor(
    private readonly stores: Pick<Stores, 'desired' | 'hosts' | 'operations' | 'audit' | 'serving'>,
    private readonly bus: CommandBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {
    this.results = new HostResults(stores.operations);
    this.policy = {
      stuckCommitMs: options.stuckCommitMs ?? DEFAULT_STUCK_COMMIT_MS,
      // Each wave (and a rollback) waits for its hosts as long as an all-at-once apply would.
      waveTimeoutMs: options.operationTimeoutMs,
    };
    this.steps = {
      stores,
      times: this.policy,
      now: () => this.clock.now(),
      save: (held, op) => this.save(held, op),
      apply: (op, host, generation, desired) => this.sendCommand('apply', op, host, generation, desired),
      logTransition: (op, via, fields) => this.logTransition(op, via, fields),
    };
  }

  /**
   * Record the operation (after its audit entry), then start it: send preflight to every host,
   * or commit at once (no host enrolled, or a disable).
   */
  async start(input: ChangeInput): Promise<OperationRecord> {
    // Nothing is recorded unless its commands can go out (a signing key at hand): no half-done work.
    await this.bus.ready?.();
    const hosts = await this.stores.hosts.list(input.ccsId);
    const via = initialTransition(input.kind, hosts.length);
    const preflight = via === 'start-preflight';
    const { op, etag } = await this.record(
      input,
      preflight ? 'preflight' : 'committing',
      via,
      hosts,
      preflight,
    );
    if (preflight) {
      try {
        await eachLimited(hosts, FAN_OUT_CONCURRENCY, (h) => this.sendCommand('preflight', op, h.host));
      } catch (error) {
        // Recorded and audited: answering 503 now would leave a change that goes on (the soak's
        // seed 20261202: a Key Vault outage while signing, then a retry made a second change).
        return this.notSent(op, etag, error);
      }
      return op;
    }
    try {
      return await this.drive({ op, etag, claimed: true });
    } catch (error) {
      return this.commitInterrupted(op, error);
    }
  }

  /**
   * A change that commits at once (a disable) was recorded and audited, and may be committed,
   * when its commit or apply fan-out failed (storage, or Key Vault signing the commands): it is
   * accepted all the same — answering 503 would make the caller retry a change that goes on (the
   * soak's seed 20261204: a disable answered 503 after it was committed, its retry answered 204).
   * The claim it holds goes stale and the sweeper takes the commit over (`commit-taken-over`).
   */
  private async commitInterrupted(op: OperationRecord, error: unknown): Promise<OperationRecord> {
    this.log.warn('commit interrupted; the sweeper resumes it', {
      operationId: op.id,
      ccsId: op.ccsId,
      error: error instanceof Error ? error.message.slice(0, 300) : 'unknown',
    });
    try {
      return (await this.stores.operations.get(op.id))?.record ?? op;
    } catch {
      return op;
    }
  }

  /**
   * Start a private-key password rotation of a share the publisher writes: record it (round 1
   * proposes the staging folder with the new password) and ask the publisher for the staging copy.
   */
  async startRotation(input: ChangeInput, plan: Omit<RotationPlan, 'round'>): Promise<OperationRecord> {
    await this.bus.ready?.();
    const hosts = await this.stores.hosts.list(input.ccsId);
    const rotation: RotationPlan = { ...plan, round: 1 };
    const { op } = await this.record(
      { ...input, kind: 'rotate', proposed: roundState(input.proposed, rotation, 1) },
      'staging',
      'start-staging',
      hosts,
      true,
      rotation,
    );
    await this.bus.send(reencryptCommand(op, this.now()));
    return op;
  }

  /** The audit entry, then the operation and its host rows. */
  private async record(
    input: ChangeInput,
    phase: OperationPhase,
    via: TransitionId,
    hosts: { host: string }[],
    preflight: boolean,
    rotation?: RotationPlan,
  ): Promise<{ op: OperationRecord; etag: string }> {
    const now = this.clock.now();
    const baseGeneration = input.base?.generation ?? 0;
    const op: OperationRecord = {
      id: randomUUID(),
      ccsId: input.ccsId,
      kind: input.kind,
      status: 'Running',
      phase,
      baseGeneration,
      targetGeneration: baseGeneration + 1,
      proposed: input.proposed,
      changedFields: input.changedFields,
      requestedBy: input.requestedBy,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      preflightDeadline: new Date(now.getTime() + this.options.preflightTimeoutMs).toISOString(),
      deadline: new Date(now.getTime() + this.options.operationTimeoutMs).toISOString(),
      error: null,
      // A rotation moves every host at once, twice (its publisher steps sit between): no waves.
      rollout: rotation ? null : initialRollout(input.rollout ?? null, input.kind, input.base),
      ...(input.force ? { force: true } : {}),
      ...(rotation ? { rotation } : {}),
    };
    // The audit entry comes first: a change without one cannot happen.
    await this.stores.audit.append({
      id: randomUUID(),
      at: op.createdAt,
      who: input.requestedBy,
      ...(input.requestedByName ? { whoName: input.requestedByName } : {}),
      ccsId: input.ccsId,
      operationId: op.id,
      kind: input.kind,
      changes: describeChanges(input.base?.desired ?? null, input.proposed),
      status: 'Running',
      ...(input.force ? { force: true } : {}),
    });
    const rows = hosts.map((h) => this.hostRow(op.id, h.host, preflight ? 'pending' : 'skipped'));
    const etag = await this.stores.operations.create(op, rows);
    this.logTransition(op, via, { hosts: hosts.length });
    return { op, etag };
  }

  /**
   * Move an operation forward as far as the reports allow; returns its current record (null: no
   * such operation). Calls for one operation are coalesced in this process (shared/coalesce.ts):
   * a batch of reports of one operation costs two advances, not one each.
   */
  advance(id: string): Promise<OperationRecord | null> {
    return this.advances.call(id);
  }

  private readonly advances = new Coalescer(async (id: string) => {
    const loaded = await this.stores.operations.get(id);
    return loaded && this.drive({ op: loaded.record, etag: loaded.etag, claimed: false });
  });

  /** The loop: facts, decision, step — until the machine says wait or the operation ended. */
  private async drive(start: Held): Promise<OperationRecord> {
    let held = start;
    for (let steps = 0; steps < MAX_STEPS && !isTerminal(held.op.status); steps++) {
      const step = next(held.op, await this.facts(held), this.clock.now(), this.policy);
      if (step.kind === 'wait') break;
      const after = await this.perform(held, step);
      if (after !== null) {
        held = after;
        continue;
      }
      // Another process wrote first: its result stands; carry on from what it wrote.
      const reloaded = await this.stores.operations.get(held.op.id);
      if (!reloaded) break;
      held = { op: reloaded.record, etag: reloaded.etag, claimed: false };
    }
    return held.op;
  }

  private facts(held: Held): Promise<OperationFacts> {
    return readFacts(this.stores, held.op, held.claimed, this.clock.now());
  }

  /** Perform one step; null when a conditional write lost to another process. */
  private async perform(held: Held, step: Exclude<Step, { kind: 'wait' }>): Promise<Held | null> {
    switch (step.kind) {
      case 'finish':
        return this.finish(held, step);
      case 'close-preflight':
        if (step.via === 'preflight-timed-out') {
          await this.markSilentUnreachable(held.op);
          // A host whose failure landed after the facts were read (its report was being folded
          // at the deadline) still fails the change: with every row out of pending, no failure
          // can land unseen after this read (the soak's seed 20261202 committed a wrong
          // private-key password that four hosts had refused a moment after the deadline).
          const again = next(held.op, await this.facts(held), this.clock.now(), this.policy);
          if (again.kind === 'finish') return this.finish(held, again);
        }
        return this.claim(held, step.via);
      case 'take-over':
        return this.claim(held, step.via);
      case 'commit':
        return this.commit(held, step.write);
      case 'roll':
        return roll(this.steps, held, step);
      case 'rollback-commit':
        return commitRollback(this.steps, held, step);
      case 'reencrypt':
        return this.askPublisher(held, afterStagedApplied(held.op, this.now()), step.via);
      case 'move-hosts':
        return this.moveHosts(held, step.via);
    }
  }

  /** A rotation's publisher step: record that it is asked for, then ask. */
  private async askPublisher(held: Held, op: OperationRecord, via: TransitionId): Promise<Held | null> {
    const saved = await this.save(held, op);
    if (!saved) return null;
    this.logTransition(held.op, via, { publisher: op.rotation?.step.host });
    await this.bus.send(reencryptCommand(op, this.now()));
    return saved;
  }

  /** A rotation's next round: every host preflights the round's state, as in any change. */
  private async moveHosts(held: Held, via: 'staged' | 'reencrypted'): Promise<Held | null> {
    const timeout = this.options.preflightTimeoutMs;
    const op =
      via === 'staged'
        ? afterStaged(held.op, this.now(), timeout)
        : afterReencrypted(held.op, this.now(), timeout);
    const saved = await this.save(held, op);
    if (!saved) return null;
    this.logTransition(held.op, via, { generation: op.targetGeneration });
    const hosts = await this.stores.hosts.list(op.ccsId);
    await Promise.all(
      hosts.map((h) => this.stores.operations.putHost(this.hostRow(op.id, h.host, 'pending'))),
    );
    await eachLimited(hosts, FAN_OUT_CONCURRENCY, (h) => this.sendCommand('preflight', op, h.host));
    return saved;
  }

  /**
   * A rotation step's result (a `reencrypt` report): written on the operation when it is the step
   * the operation waits for, from the host it asked; then the operation moves on.
   */
  async recordRotationStep(report: ReencryptReport): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const loaded = await this.stores.operations.get(report.operationId);
      const op = loaded?.record;
      const step = op?.rotation?.step;
      if (
        !loaded ||
        !op ||
        !step ||
        isTerminal(op.status) ||
        step.kind !== report.step ||
        step.outcome !== 'pending' ||
        step.host.toLowerCase() !== report.host.toLowerCase()
      ) {
        return;
      }
      const recorded: OperationRecord = {
        ...op,
        updatedAt: this.now(),
        rotation: { ...op.rotation!, step: { ...step, outcome: report.outcome, error: report.error } },
      };
      if (await this.stores.operations.save(recorded, loaded.etag)) break;
    }
    await this.advance(report.operationId);
  }

  private async finish(held: Held, step: Extract<Step, { kind: 'finish' }>): Promise<Held | null> {
    const ended = await this.save(held, {
      ...held.op,
      status: step.status,
      phase: 'done',
      error: step.error,
      updatedAt: this.now(),
      ...('rollout' in step ? { rollout: step.rollout } : {}),
    });
    if (!ended) return null;
    this.logTransition(held.op, step.via, { status: step.status, code: step.error?.code });
    try {
      await closePendingSteps(this.stores.operations, ended.op, held.op.phase, this.now());
    } catch {
      // The operation has ended either way; only its rows' pending steps stay as they were.
      this.log.warn('pending steps not closed', { operationId: held.op.id, ccsId: held.op.ccsId });
    }
    try {
      await this.stores.audit.setStatus({ operationId: held.op.id, at: held.op.createdAt }, step.status);
    } catch {
      // The audit log reads the operation itself while its entry still says Running.
      this.log.warn('audit status not written', { operationId: held.op.id, ccsId: held.op.ccsId });
    }
    return ended;
  }

  /** Ends an operation whose preflight could not be sent to every host; nothing is committed. */
  private async notSent(op: OperationRecord, etag: string, error: unknown): Promise<OperationRecord> {
    this.log.warn('preflight not sent to every host; the change fails', {
      operationId: op.id,
      ccsId: op.ccsId,
      error: error instanceof Error ? error.message.slice(0, 300) : 'unknown',
    });
    const step = {
      kind: 'finish',
      via: 'preflight-not-sent',
      status: 'Failed',
      error: commandsNotSent(),
    } as const;
    const ended = await this.finish({ op, etag, claimed: false }, step);
    return ended?.op ?? (await this.stores.operations.get(op.id))?.record ?? op;
  }

  /**
   * Silent hosts are marked unreachable; they preflight again (in the agent) when they return.
   * Conditionally: a result folded between the query and the write stands (operation-host-rows.ts).
   */
  private async markSilentUnreachable(op: OperationRecord): Promise<void> {
    const now = this.now();
    const silent = await this.stores.operations.hostsWhere(op.id, 'preflight', 'pending');
    await Promise.all(
      silent.map((r) =>
        updateHostRow(this.stores.operations, op.id, r.host, (row) =>
          row.preflight === 'pending' ? { ...row, preflight: 'unreachable', updatedAt: now } : null,
        ),
      ),
    );
  }

  /** Claim the commit: the operation is committing, and its updatedAt says who holds it since when. */
  private async claim(held: Held, via: TransitionId): Promise<Held | null> {
    const claimed = await this.save(held, { ...held.op, phase: 'committing', updatedAt: this.now() });
    if (claimed) this.logTransition(held.op, via);
    return claimed && { ...claimed, claimed: true };
  }

  /**
   * Commit the proposed state (a conditional write: a concurrent change makes it lose), make
   * sure every host has a row, send `apply` to every host, and move to apply.
   */
  private async commit(held: Held, write: { basedOn: string | null } | null): Promise<Held | null> {
    const { op } = held;
    if (write) {
      const written = await this.stores.desired.save(
        {
          ccsId: op.ccsId,
          desired: op.proposed,
          generation: op.targetGeneration,
          updatedAt: this.now(),
          lastOperationId: op.id,
        },
        write.basedOn,
      );
      // Lost to another change: the next facts say whether it was this one (resumed) or a conflict.
      if (written === null) return held;
    }
    const hosts = await this.stores.hosts.list(op.ccsId);
    const rows = await this.stores.operations.hosts(op.id);
    if (op.rollout) return commitToFirstWave(this.steps, held, op.rollout, hosts, rows);
    const known = new Set(rows.map((r) => r.host.toLowerCase()));
    await Promise.all(
      hosts
        .filter((h) => !known.has(h.host.toLowerCase()))
        .map((h) => this.stores.operations.putHost(this.hostRow(op.id, h.host, 'skipped'))),
    );
    const claim = await this.fanOut(
      held,
      hosts.map((h) => h.host),
    );
    if (!claim) return null;
    const applying = await this.save(claim, { ...claim.op, phase: 'apply', updatedAt: this.now() });
    if (applying) this.logTransition(op, 'committed', { generation: op.targetGeneration });
    return applying && { ...applying, claimed: false };
  }

  /**
   * Send `apply` to every host, FAN_OUT_CONCURRENCY at a time, renewing the claim on the
   * committing operation (its updatedAt) every third of stuckCommitMs. A fan-out slowed by
   * storage (throttling, a thousand hosts) is then not mistaken for one whose process died and
   * sent all over again while it is still under way; if it was taken over all the same, it stops
   * (null) and leaves the rest to the new owner.
   */
  private async fanOut(held: Held, hosts: string[]): Promise<Held | null> {
    const renewEveryMs = this.policy.stuckCommitMs / 3;
    let claim: Held | null = held;
    let renewedAt = this.clock.now().getTime();
    let renewing: Promise<void> | null = null;
    await eachLimited(hosts, FAN_OUT_CONCURRENCY, async (host) => {
      if (claim === null) return;
      await this.sendCommand('apply', held.op, host);
      const now = this.clock.now().getTime();
      if (renewing === null && claim !== null && now - renewedAt >= renewEveryMs) {
        renewedAt = now;
        const current: Held = claim;
        renewing = this.save(current, { ...current.op, updatedAt: new Date(now).toISOString() }).then(
          (renewed) => {
            claim = renewed && { ...renewed, claimed: true };
            renewing = null;
          },
        );
      }
      if (renewing) await renewing;
    });
    return claim;
  }

  /** Record one host's step result for an operation (from a `result` report). */
  async recordHostResult(
    id: string,
    host: string,
    step: HostStep,
    outcome: 'succeeded' | 'failed' | 'superseded',
    error: HostError | null,
  ): Promise<void> {
    const recorded = await this.results.record({ id, host, step, outcome, error, at: this.now() });
    // Not written (the decision without this host stands), but not lost either: it is in the log,
    // and the host checks the change again when its apply comes.
    if (recorded === 'late') {
      this.log.warn('late preflight result not recorded: the host was marked unreachable at the deadline', {
        operationId: id,
        host,
        outcome,
        code: error?.code,
      });
    }
  }

  /** Write the operation conditionally; the new hold, or null when another process wrote first. */
  private async save(held: Held, op: OperationRecord): Promise<Held | null> {
    const etag = await this.stores.operations.save(op, held.etag);
    return etag === null ? null : { op, etag, claimed: held.claimed };
  }

  private logTransition(
    op: OperationRecord,
    via: TransitionId,
    fields: Record<string, string | number | undefined> = {},
  ): void {
    this.log.info('operation transition', {
      operationId: op.id,
      ccsId: op.ccsId,
      via,
      to: TRANSITIONS[via].to,
      ...fields,
    });
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private hostRow(operationId: string, host: string, preflight: HostStepStatus): OperationHostRecord {
    return { operationId, host, preflight, apply: 'pending', error: null, updatedAt: this.now() };
  }

  private async sendCommand(
    type: HostStep,
    op: OperationRecord,
    host: string,
    generation = op.targetGeneration,
    desired = op.proposed,
  ): Promise<void> {
    const common = {
      v: MESSAGE_VERSION,
      ccsId: op.ccsId,
      host,
      operationId: op.id,
      generation,
      desired,
      issuedAt: this.now(),
    } as const;
    await this.bus.send(
      type === 'preflight' ? { ...common, type, ...(op.force ? { force: true } : {}) } : { ...common, type },
    );
  }
}
