/**
 * The operation engine's decisions, as a pure state machine (docs/operations.md draws it).
 * `next(operation, facts, now)` says what to do next from what the engine read; the engine
 * (operation-engine.ts) reads the facts, performs the step and asks again. Nothing here does I/O
 * or throws: every outcome, a lost race included, is a value.
 *
 * To add a phase: add its state, its transitions to TRANSITIONS (the diagram in
 * docs/operations.md must list them: a test compares), its facts and its branch of `next`.
 */
import type { HostError } from '../messages.js';
import type {
  OperationError,
  OperationKind,
  OperationPhase,
  OperationRecord,
  OperationStatus,
  RotationStep,
} from '../model.js';
import {
  hostErrorToOperationError,
  hostsUnreachable,
  operationConflict,
  publisherSilent,
} from './operation-errors.js';
import {
  nextRollout,
  ROLLOUT_TRANSITIONS,
  type RolloutFacts,
  type RolloutStep,
  type RolloutTimes,
} from './rollout-machine.js';

/** Where an operation is: its phase while it runs, its status once it has ended. */
export type OperationState =
  Exclude<OperationPhase, 'done'> | Exclude<OperationStatus, 'NotStarted' | 'Running'>;

export interface Transition {
  /** `start` is the operation being recorded. */
  from: OperationState | 'start';
  to: OperationState;
  /** Why, in the words of the diagram. */
  when: string;
}

/** Every transition the engine can take, by name. */
export const TRANSITIONS = {
  'start-preflight': { from: 'start', to: 'preflight', when: 'hosts are enrolled and it is not a disable' },
  'start-commit': { from: 'start', to: 'committing', when: 'no host is enrolled, or it is a disable' },
  'preflight-failed': { from: 'preflight', to: 'Failed', when: 'a host failed its preflight' },
  'preflight-not-sent': {
    from: 'preflight',
    to: 'Failed',
    when: 'the preflight could not be sent to every host',
  },
  'preflight-passed': { from: 'preflight', to: 'committing', when: 'every host passed its preflight' },
  'preflight-timed-out': {
    from: 'preflight',
    to: 'committing',
    when: 'the preflight deadline passed (silent hosts are marked unreachable)',
  },
  'commit-taken-over': {
    from: 'committing',
    to: 'committing',
    when: 'its claim is older than the stuck-commit time (its process died or stalled)',
  },
  'commit-conflict': {
    from: 'committing',
    to: 'Failed',
    when: 'another change was committed first',
  },
  committed: {
    from: 'committing',
    to: 'apply',
    when: 'the desired state is at the new generation and apply went to every host',
  },
  'apply-succeeded': {
    from: 'apply',
    to: 'Succeeded',
    when: 'every host applied this generation or a newer one',
  },
  'apply-failed': { from: 'apply', to: 'Failed', when: 'every host answered and one failed to apply' },
  'apply-timed-out': { from: 'apply', to: 'Failed', when: 'the deadline passed with hosts silent' },
  ...ROLLOUT_TRANSITIONS,
  // A private-key password rotation of a share the publisher writes (docs/certificates.md).
  'start-staging': {
    from: 'start',
    to: 'staging',
    when: 'a private-key password change of a share the publisher writes',
  },
  'staging-failed': {
    from: 'staging',
    to: 'Failed',
    when: 'the publisher could not write the staging copy, or not before the deadline',
  },
  staged: {
    from: 'staging',
    to: 'preflight',
    when: 'every published file is in the staging folder under the new password: the hosts move there',
  },
  'apply-staged': {
    from: 'apply',
    to: 'reencrypting',
    when: 'every host serves from the staging folder with the new password',
  },
  'reencrypt-failed': {
    from: 'reencrypting',
    to: 'Failed',
    when: "the publisher could not re-encrypt the store's files, or not before the deadline",
  },
  reencrypted: {
    from: 'reencrypting',
    to: 'preflight',
    when: "the store's own files are under the new password: the hosts move back",
  },
} as const satisfies Record<string, Transition>;

export type TransitionId = keyof typeof TRANSITIONS;

/** How a new operation starts: disabling cannot break access to a share, so it needs no preflight. */
export function initialTransition(kind: OperationKind, hosts: number): 'start-preflight' | 'start-commit' {
  return hosts > 0 && kind !== 'disable' ? 'start-preflight' : 'start-commit';
}

/** What the engine read about an operation, for the phase it is in. */
export type OperationFacts =
  | {
      phase: 'preflight';
      /** Whether any host row was still pending (read before `failures`, so no failure is missed). */
      pending: boolean;
      /** The errors of the failed host rows, in host order (at least the first). */
      failures: (HostError | null)[];
    }
  | {
      phase: 'committing';
      /** Whether this engine holds the commit: it moved the operation here, or took it over. */
      claimed: boolean;
      /** The ccs-id's desired state and the ETag it was read at (null: never configured). */
      desired: { generation: number; lastOperationId: string | null; etag: string } | null;
    }
  | {
      /** A rotation's publisher step: its result is on the operation itself. */
      phase: 'staging' | 'reencrypting';
      step: RotationStep;
    }
  | {
      phase: 'apply';
      /**
       * Hosts that have neither applied the generation nor answered. Before the deadline one is
       * enough to know the phase is not over; from the deadline on it is the full list.
       */
      silent: string[];
      /** Errors of the hosts that failed to apply and have not applied it since. */
      failures: (HostError | null)[];
    }
  | RolloutFacts;

export type Step =
  /** Nothing to do until a report arrives or `until` (ISO time) passes; null: only a report. */
  | { kind: 'wait'; until: string | null }
  | { kind: 'finish'; via: TransitionId; status: 'Succeeded' | 'Failed'; error: OperationError | null }
  /** The rollout phases' steps (rollout-machine.ts); a finish there also carries the rollout's end. */
  | Exclude<RolloutStep, { kind: 'wait' }>
  /** Move to committing (claiming it); mark the still-pending hosts unreachable first when timed out. */
  | { kind: 'close-preflight'; via: 'preflight-passed' | 'preflight-timed-out' }
  /** Claim a commit whose process stopped renewing its claim. */
  | { kind: 'take-over'; via: 'commit-taken-over' }
  /**
   * Write the desired state unless this operation already did — conditional on the ETag the
   * decision read (`basedOn`; null: create), so a change committed since makes the write lose —
   * then send apply to every host (`committed`) or to the first wave of its rollout (`committed-wave`).
   */
  | { kind: 'commit'; via: 'committed' | 'committed-wave'; write: { basedOn: string | null } | null }
  /** A rotation's hosts serve the staging copy: ask the publisher to re-encrypt the store's files. */
  | { kind: 'reencrypt'; via: 'apply-staged' }
  /** A rotation's publisher step is done: send the hosts their next state, from preflight on. */
  | { kind: 'move-hosts'; via: 'staged' | 'reencrypted' };

export interface MachinePolicy extends RolloutTimes {
  /** A commit whose claim is this old is taken over (its process died or stalled). */
  stuckCommitMs: number;
}

const at = (iso: string): number => Date.parse(iso);

/** The next step of a running operation. */
export function next(
  operation: OperationRecord,
  facts: OperationFacts,
  now: Date,
  policy: MachinePolicy,
): Step {
  const time = now.getTime();
  switch (facts.phase) {
    case 'preflight':
      if (facts.failures.length > 0) {
        return {
          kind: 'finish',
          via: 'preflight-failed',
          status: 'Failed',
          error: hostErrorToOperationError(facts.failures),
        };
      }
      if (!facts.pending) return { kind: 'close-preflight', via: 'preflight-passed' };
      if (time < at(operation.preflightDeadline)) return { kind: 'wait', until: operation.preflightDeadline };
      return { kind: 'close-preflight', via: 'preflight-timed-out' };

    case 'committing': {
      if (!facts.claimed) {
        const expires = at(operation.updatedAt) + policy.stuckCommitMs;
        if (time < expires) return { kind: 'wait', until: new Date(expires).toISOString() };
        return { kind: 'take-over', via: 'commit-taken-over' };
      }
      const via = operation.rollout ? 'committed-wave' : 'committed';
      // A resumed commit whose write had landed goes on with the fan-out (a rotation commits
      // twice, so the generation tells its two commits apart).
      if (
        facts.desired?.lastOperationId === operation.id &&
        facts.desired.generation === operation.targetGeneration
      ) {
        return { kind: 'commit', via, write: null };
      }
      if ((facts.desired?.generation ?? 0) !== operation.baseGeneration) {
        return { kind: 'finish', via: 'commit-conflict', status: 'Failed', error: operationConflict() };
      }
      return { kind: 'commit', via, write: { basedOn: facts.desired?.etag ?? null } };
    }

    case 'waves':
    case 'halted':
    case 'rollback':
      // A rollout phase without its progress cannot happen (the engine writes both together).
      if (!operation.rollout) return { kind: 'wait', until: null };
      return nextRollout(operation, operation.rollout, facts, now, policy);

    case 'apply':
      if (facts.silent.length > 0) {
        if (time < at(operation.deadline)) return { kind: 'wait', until: operation.deadline };
        return {
          kind: 'finish',
          via: 'apply-timed-out',
          status: 'Failed',
          error: hostsUnreachable(facts.silent),
        };
      }
      if (facts.failures.length > 0) {
        return {
          kind: 'finish',
          via: 'apply-failed',
          status: 'Failed',
          error: hostErrorToOperationError(facts.failures),
        };
      }
      if (operation.rotation?.round === 1) return { kind: 'reencrypt', via: 'apply-staged' };
      return { kind: 'finish', via: 'apply-succeeded', status: 'Succeeded', error: null };

    case 'staging':
    case 'reencrypting': {
      const staging = facts.phase === 'staging';
      const failed = staging ? 'staging-failed' : 'reencrypt-failed';
      if (facts.step.outcome === 'succeeded') {
        return { kind: 'move-hosts', via: staging ? 'staged' : 'reencrypted' };
      }
      if (facts.step.outcome === 'failed') {
        return {
          kind: 'finish',
          via: failed,
          status: 'Failed',
          error: hostErrorToOperationError([facts.step.error]),
        };
      }
      if (time < at(operation.deadline)) return { kind: 'wait', until: operation.deadline };
      return { kind: 'finish', via: failed, status: 'Failed', error: publisherSilent(facts.step.host) };
    }
  }
}
