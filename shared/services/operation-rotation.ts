/**
 * The operation engine's rotation steps (docs/certificates.md, "Rotating the private-key
 * password"), as pure record changes and the commands they send. A rotation moves the hosts
 * twice, each time through the usual preflight → commit → apply:
 *
 *   round 1: { path: <store>\<stage>, private-key password: new }   (the publisher staged a copy)
 *   round 2: { path: <store>,         private-key password: new }   (the publisher re-encrypted the store)
 *
 * so that no host ever holds a path and a password whose files it cannot open.
 */
import { MESSAGE_VERSION } from '../message-parts.js';
import type { DesiredState } from '../messages.js';
import type { OperationRecord, RotationPlan, RotationStep } from '../model.js';
import type { ReencryptCommand } from '../publishing/messages.js';

/** The staging folder of a store: `<store>\<stage>`. */
export const stagePath = (plan: Pick<RotationPlan, 'path' | 'stage'>): string =>
  `${plan.path.replace(/[\\/]+$/, '')}\\${plan.stage}`;

/** What the hosts are asked to hold in a round. */
export function roundState(base: DesiredState, plan: RotationPlan, round: 1 | 2): DesiredState {
  return { ...base, path: round === 1 ? stagePath(plan) : plan.path, privateKeyPassword: plan.to };
}

export function pendingStep(kind: RotationStep['kind'], host: string, now: string): RotationStep {
  return { kind, host, requestedAt: now, outcome: 'pending', error: null };
}

/** The command asking the publisher for the operation's current step. */
export function reencryptCommand(op: OperationRecord, now: string): ReencryptCommand {
  const plan = op.rotation!;
  return {
    v: MESSAGE_VERSION,
    type: 'reencrypt',
    ccsId: op.ccsId,
    host: plan.step.host,
    operationId: op.id,
    step: plan.step.kind,
    path: plan.path,
    stage: plan.stage,
    from: plan.from,
    to: plan.to,
    profile: plan.profile,
    force: op.force === true,
    issuedAt: now,
  };
}

/** After the staging copy: round 1's preflight. */
export function afterStaged(op: OperationRecord, now: string, preflightTimeoutMs: number): OperationRecord {
  return {
    ...op,
    phase: 'preflight',
    updatedAt: now,
    preflightDeadline: new Date(Date.parse(now) + preflightTimeoutMs).toISOString(),
  };
}

/** Round 1 applied everywhere: the publisher re-encrypts the store's own files. */
export function afterStagedApplied(op: OperationRecord, now: string): OperationRecord {
  const plan = op.rotation!;
  return {
    ...op,
    phase: 'reencrypting',
    updatedAt: now,
    rotation: { ...plan, step: pendingStep('in-place', plan.step.host, now) },
  };
}

/** The store re-encrypted: round 2, the hosts move back, from preflight on, one generation later. */
export function afterReencrypted(
  op: OperationRecord,
  now: string,
  preflightTimeoutMs: number,
): OperationRecord {
  const plan = { ...op.rotation!, round: 2 as const };
  return {
    ...afterStaged(op, now, preflightTimeoutMs),
    baseGeneration: op.targetGeneration,
    targetGeneration: op.targetGeneration + 1,
    proposed: roundState(op.proposed, plan, 2),
    rotation: plan,
  };
}
