/**
 * The rollout phases of the operation state machine (docs/operations.md, docs/rollouts.md):
 * `waves`, `halted` and `rollback`, as pure decisions. operation-machine.ts spreads these
 * transitions into TRANSITIONS and hands these phases' decisions to `nextRollout`; nothing here
 * does I/O or throws.
 */
import type { HostError } from '../messages.js';
import type { OperationError, OperationRecord } from '../model.js';
import {
  MAX_RECORDED_ERRORS,
  type RolloutError,
  type RolloutProgress,
  type WaveProgress,
} from '../rollout/model.js';
import { hostErrorToOperationError } from './operation-errors.js';

/** The rollout's transitions (same shape as operation-machine's Transition). */
export const ROLLOUT_TRANSITIONS = {
  'committed-wave': {
    from: 'committing',
    to: 'waves',
    when: 'the desired state is at the new generation and apply went to the first wave (a rollout policy)',
  },
  'wave-settled': {
    from: 'waves',
    to: 'waves',
    when: 'every host of the wave applied, failed or stayed silent past its deadline, within the error budget',
  },
  'wave-started': {
    from: 'waves',
    to: 'waves',
    when: 'the bake time after a wave passed and apply went to the next wave',
  },
  'rollout-succeeded': {
    from: 'waves',
    to: 'Succeeded',
    when: 'the last wave settled within the error budget',
  },
  'rollout-halted': {
    from: 'waves',
    to: 'halted',
    when: 'errors exceeded max_errors and auto_rollback is off (no further wave starts)',
  },
  'rollout-rolling-back': {
    from: 'waves',
    to: 'rollback',
    when: 'errors exceeded max_errors and auto_rollback is on',
  },
  'rollout-canceled': { from: 'waves', to: 'Canceled', when: 'a DELETE of the ccs-id stopped it' },
  resumed: { from: 'halted', to: 'waves', when: 'an operator resumed it (the errors so far are accepted)' },
  'rollback-requested': { from: 'halted', to: 'rollback', when: 'an operator asked for a rollback' },
  'halted-canceled': { from: 'halted', to: 'Canceled', when: 'a DELETE of the ccs-id ended it' },
  'rollback-sent': {
    from: 'rollback',
    to: 'rollback',
    when: 'the previous settings are the desired state again (a new generation) and went to the changed hosts',
  },
  'rolled-back': {
    from: 'rollback',
    to: 'Failed',
    when: 'every changed host applied the previous settings (rolled_back)',
  },
  'rollback-failed': {
    from: 'rollback',
    to: 'Failed',
    when: 'a changed host failed to apply the previous settings, or stayed silent past the deadline',
  },
  'rollback-conflict': { from: 'rollback', to: 'Failed', when: 'another change was committed first' },
} as const;

export type RolloutTransitionId = keyof typeof ROLLOUT_TRANSITIONS;

/** A host of the current wave that went wrong, as the engine read it. */
export interface FailedHost {
  host: string;
  error: HostError | null;
}

/** A host whose serving check after the apply lost bindings that served `ok` before. */
export interface RegressedHost {
  host: string;
  bindings: RolloutError['bindings'];
}

/** The facts of the rollout phases (read by rollout-facts.ts). */
export type RolloutFacts =
  | {
      phase: 'waves';
      /** Hosts of the current wave that have neither applied nor failed (empty once it settled). */
      silent: string[];
      failed: FailedHost[];
      regressed: RegressedHost[];
    }
  | { phase: 'halted' }
  | {
      phase: 'rollback';
      /** The ccs-id's desired state and the ETag it was read at. */
      desired: { generation: number; lastOperationId: string | null; etag: string } | null;
      silent: string[];
      failed: FailedHost[];
      /**
       * Changed hosts that applied the rollback but whose serving check of it is not stored yet
       * though they checked before (it is on its way; the rollback's deadline bounds the wait).
       */
      servingPending: string[];
      serving: NonNullable<NonNullable<RolloutProgress['rollback']>['serving']>;
    };

export type RolloutStep =
  | { kind: 'wait'; until: string | null }
  | {
      kind: 'finish';
      via: RolloutTransitionId;
      status: 'Succeeded' | 'Failed' | 'Canceled';
      error: OperationError | null;
      rollout: RolloutProgress;
    }
  /** Save the rollout's new progress and phase; first send apply to wave `startWave` when set. */
  | {
      kind: 'roll';
      via: RolloutTransitionId;
      phase: 'waves' | 'halted' | 'rollback';
      rollout: RolloutProgress;
      startWave: number | null;
    }
  /**
   * Write the previous settings as generation `rollout.rollback.generation` (conditional on
   * `basedOn`; null: already written), send them to every host of the started waves, save.
   */
  | { kind: 'rollback-commit'; via: 'rollback-sent'; basedOn: string | null; rollout: RolloutProgress };

export interface RolloutTimes {
  /** How long a wave (and a rollback) waits for its hosts before giving up on the silent ones. */
  waveTimeoutMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const at = (value: string): number => Date.parse(value);

/** The first wave's progress when a rollout commits (the engine plans the waves' sizes). */
export function startFirstWave(
  rollout: RolloutProgress,
  sizes: number[],
  now: Date,
  t: RolloutTimes,
): RolloutProgress {
  const waves: WaveProgress[] = sizes.map((hosts) => ({
    hosts,
    startedAt: null,
    settledAt: null,
    deadline: null,
    errors: 0,
  }));
  return startWave({ ...rollout, waves, state: 'rolling' }, 0, now, t);
}

function startWave(rollout: RolloutProgress, index: number, now: Date, t: RolloutTimes): RolloutProgress {
  const waves = rollout.waves.map((w, i) =>
    i === index ? { ...w, startedAt: iso(now.getTime()), deadline: iso(now.getTime() + t.waveTimeoutMs) } : w,
  );
  return { ...rollout, waves, current: index, bakeUntil: null, state: 'rolling' };
}

/** The next step of an operation in a rollout phase. */
export function nextRollout(
  op: OperationRecord,
  rollout: RolloutProgress,
  facts: RolloutFacts,
  now: Date,
  t: RolloutTimes,
): RolloutStep {
  switch (facts.phase) {
    case 'waves':
      return nextInWaves(op, rollout, facts, now, t);
    case 'halted':
      if (rollout.request?.kind === 'resume') {
        const resumed = {
          ...rollout,
          request: null,
          accepted: rollout.errorCount,
          state: 'rolling' as const,
        };
        return { kind: 'roll', via: 'resumed', phase: 'waves', rollout: resumed, startWave: null };
      }
      if (rollout.request?.kind === 'rollback')
        return beginRollback('rollback-requested', op, rollout, now, t);
      if (rollout.request?.kind === 'cancel') return canceled('halted-canceled', rollout);
      return { kind: 'wait', until: null };
    case 'rollback':
      return nextInRollback(op, rollout, facts, now);
  }
}

function nextInWaves(
  op: OperationRecord,
  rollout: RolloutProgress,
  facts: Extract<RolloutFacts, { phase: 'waves' }>,
  now: Date,
  t: RolloutTimes,
): RolloutStep {
  const time = now.getTime();
  if (rollout.request?.kind === 'cancel') return canceled('rollout-canceled', rollout);
  const wave = rollout.waves[rollout.current];
  if (!wave) return { kind: 'finish', via: 'rollout-succeeded', status: 'Succeeded', error: null, rollout };
  if (wave.settledAt !== null) {
    const last = rollout.current >= rollout.waves.length - 1;
    if (last) {
      return {
        kind: 'finish',
        via: 'rollout-succeeded',
        status: 'Succeeded',
        error: null,
        rollout: { ...rollout, state: 'succeeded' },
      };
    }
    if (rollout.bakeUntil !== null && time < at(rollout.bakeUntil))
      return { kind: 'wait', until: rollout.bakeUntil };
    const started = startWave(rollout, rollout.current + 1, now, t);
    return {
      kind: 'roll',
      via: 'wave-started',
      phase: 'waves',
      rollout: started,
      startWave: rollout.current + 1,
    };
  }
  const timedOut = wave.deadline !== null && time >= at(wave.deadline);
  if (facts.silent.length > 0 && !timedOut) return { kind: 'wait', until: wave.deadline };
  const found = waveErrors(rollout.current, facts);
  const errors = [...rollout.errors, ...found].slice(0, MAX_RECORDED_ERRORS);
  const errorCount = rollout.errorCount + found.length;
  const waves = rollout.waves.map((w, i) =>
    i === rollout.current ? { ...w, settledAt: iso(time), errors: found.length } : w,
  );
  const settled: RolloutProgress = { ...rollout, waves, errors, errorCount };
  if (errorCount - rollout.accepted > rollout.maxErrors) {
    if (rollout.policy.autoRollback) {
      return beginRollback('rollout-rolling-back', op, { ...settled, state: 'rolling_back' }, now, t);
    }
    return {
      kind: 'roll',
      via: 'rollout-halted',
      phase: 'halted',
      rollout: { ...settled, state: 'halted' },
      startWave: null,
    };
  }
  if (rollout.current >= rollout.waves.length - 1) {
    return {
      kind: 'finish',
      via: 'rollout-succeeded',
      status: 'Succeeded',
      error: null,
      rollout: { ...settled, state: 'succeeded' },
    };
  }
  const bakeUntil = iso(time + rollout.policy.bakeSeconds * 1000);
  return {
    kind: 'roll',
    via: 'wave-settled',
    phase: 'waves',
    rollout: { ...settled, bakeUntil, state: 'paused' },
    startWave: null,
  };
}

/** The hosts of a settled wave that count against the budget: failed, regressed, silent. */
function waveErrors(wave: number, facts: Extract<RolloutFacts, { phase: 'waves' }>): RolloutError[] {
  return [
    ...facts.failed.map((f) => ({
      host: f.host,
      wave,
      reason: 'apply_failed' as const,
      detail: f.error ? `${f.error.code}: ${f.error.detail}` : 'The apply failed without details',
      bindings: [],
    })),
    ...facts.regressed.map((r) => ({
      host: r.host,
      wave,
      reason: 'serving_regressed' as const,
      detail: `${r.bindings.length} binding(s) that served ok before the change no longer do`,
      bindings: r.bindings.slice(0, 5),
    })),
    ...facts.silent.map((host) => ({
      host,
      wave,
      reason: 'silent' as const,
      detail: 'The host did not report before the wave deadline',
      bindings: [],
    })),
  ];
}

function beginRollback(
  via: 'rollout-rolling-back' | 'rollback-requested',
  op: OperationRecord,
  rollout: RolloutProgress,
  now: Date,
  t: RolloutTimes,
): RolloutStep {
  const rollback = {
    generation: op.targetGeneration + 1,
    by: via === 'rollout-rolling-back' ? 'auto_rollback' : (rollout.request?.by ?? 'operator'),
    startedAt: iso(now.getTime()),
    sentAt: null,
    deadline: iso(now.getTime() + t.waveTimeoutMs),
    hosts: 0,
    serving: null,
  };
  return {
    kind: 'roll',
    via,
    phase: 'rollback',
    rollout: { ...rollout, request: null, state: 'rolling_back', bakeUntil: null, rollback },
    startWave: null,
  };
}

function canceled(via: 'rollout-canceled' | 'halted-canceled', rollout: RolloutProgress): RolloutStep {
  return {
    kind: 'finish',
    via,
    status: 'Canceled',
    error: null,
    rollout: { ...rollout, request: null, state: 'canceled', bakeUntil: null },
  };
}

function nextInRollback(
  op: OperationRecord,
  rollout: RolloutProgress,
  facts: Extract<RolloutFacts, { phase: 'rollback' }>,
  now: Date,
): RolloutStep {
  const rollback = rollout.rollback;
  const desired = facts.desired;
  if (!rollback) return { kind: 'wait', until: null };
  const ours = desired?.lastOperationId === op.id;
  if (ours && desired?.generation === op.targetGeneration) {
    return { kind: 'rollback-commit', via: 'rollback-sent', basedOn: desired.etag, rollout };
  }
  if (!ours || desired?.generation !== rollback.generation) {
    return {
      kind: 'finish',
      via: 'rollback-conflict',
      status: 'Failed',
      error: rollbackConflict(),
      rollout: { ...rollout, state: 'halted' },
    };
  }
  // The previous settings are written; a process that died before sending them resumes here.
  if (rollback.sentAt === null)
    return { kind: 'rollback-commit', via: 'rollback-sent', basedOn: null, rollout };
  const timedOut = now.getTime() >= at(rollback.deadline);
  const waiting = facts.silent.length > 0 || facts.servingPending.length > 0;
  if (waiting && !timedOut && facts.failed.length === 0) return { kind: 'wait', until: rollback.deadline };
  // A serving check still missing at the deadline does not fail the rollback (the host applied
  // it); the summary then counts the checks that arrived.
  const ended = { ...rollout, rollback: { ...rollback, serving: facts.serving } };
  if (facts.silent.length > 0 || facts.failed.length > 0) {
    const error =
      facts.failed.length > 0 ? hostErrorToOperationError(facts.failed.map((f) => f.error)) : null;
    return {
      kind: 'finish',
      via: 'rollback-failed',
      status: 'Failed',
      error: {
        code: 'RollbackFailed',
        message: `The rollback did not reach every changed host (${[...facts.failed.map((f) => f.host), ...facts.silent].slice(0, 10).join(', ')})${error ? `: ${error.message}` : ''}`,
        target: 'hosts',
        status: 409,
      },
      rollout: { ...ended, state: 'halted' },
    };
  }
  return {
    kind: 'finish',
    via: 'rolled-back',
    status: 'Failed',
    error: rolledBack(rollout),
    rollout: { ...ended, state: 'rolled_back' },
  };
}

function rolledBack(rollout: RolloutProgress): OperationError {
  const hosts = rollout.errors.slice(0, 10).map((e) => `${e.host} (${e.reason})`);
  return {
    code: 'RolledBack',
    message: `The rollout exceeded its error budget and was rolled back: ${hosts.join(', ')}`,
    target: 'rollout',
    status: 409,
  };
}

function rollbackConflict(): OperationError {
  return {
    code: 'Conflict',
    message: 'Another change to this ccs-id was committed during the rollout; it was not rolled back',
    target: 'id',
    status: 409,
  };
}
