/**
 * A rollout's progress, kept on its operation record (docs/rollouts.md): the policy it runs
 * under, its waves and their timing, the hosts the gates counted as errors (the evidence), and
 * the rollback when there is one. Each host's wave is on its operation host row.
 */
import type { DesiredState } from '../messages.js';
import type { RolloutPolicy } from './policy.js';

/**
 * `rolling`: a wave is applying; `paused`: a wave settled and the bake time runs before the next;
 * `halted`: the error budget was exceeded (or an operator stopped it), no wave starts until
 * resume or rollback; `rolling_back`: the old settings are going back to the changed hosts;
 * `rolled_back`, `succeeded`, `canceled`: ended.
 */
export type RolloutState =
  'rolling' | 'paused' | 'halted' | 'rolling_back' | 'rolled_back' | 'succeeded' | 'canceled';

export interface WaveProgress {
  hosts: number;
  startedAt: string | null;
  /** When every host of the wave applied, failed or was given up on (its deadline). */
  settledAt: string | null;
  /** When the wave's silent hosts are given up on (counted as errors). */
  deadline: string | null;
  /** Hosts of this wave the gates counted as errors. */
  errors: number;
}

/** Why a host counted against the error budget. */
export type RolloutErrorReason = 'apply_failed' | 'serving_regressed' | 'silent';

/** One host the gates counted, with what they saw (binding names and statuses only, no secret). */
export interface RolloutError {
  host: string;
  wave: number;
  reason: RolloutErrorReason;
  detail: string;
  /** For `serving_regressed`: the bindings that served `ok` before and do not now. */
  bindings: { site: string; hostName: string; port: number; status: string; detail: string }[];
}

export interface RollbackProgress {
  /** The generation that puts the previous settings back (the rollout's + 1). */
  generation: number;
  /** Who asked: `auto_rollback`, or the caller of POST …/rollback. */
  by: string;
  startedAt: string;
  /** When apply went to the changed hosts (null: not yet). */
  sentAt: string | null;
  deadline: string;
  /** How many hosts got the old settings back. */
  hosts: number;
  /** Their serving checks after the rollback, summed (null until it ended). */
  serving: { ok: number; mismatch: number; failed: number; skipped: number } | null;
}

/** An operator's request, written on the record and carried out by the engine's next advance. */
export interface RolloutRequest {
  kind: 'resume' | 'rollback' | 'cancel';
  /** The caller (`access-token:<name>`, `entra:<name>`), as the audit log names them. */
  by: string;
  at: string;
}

export interface RolloutProgress {
  policy: RolloutPolicy;
  state: RolloutState;
  waves: WaveProgress[];
  /** The latest wave started (-1: none yet). */
  current: number;
  /** While `paused`: when the next wave may start. */
  bakeUntil: string | null;
  /** `max_errors` resolved against the fleet's size. */
  maxErrors: number;
  /** Hosts counted as errors (every one counts; `errors` keeps the first MAX_RECORDED_ERRORS). */
  errorCount: number;
  errors: RolloutError[];
  /** Errors a resume accepted: the gate counts only those beyond. */
  accepted: number;
  request: RolloutRequest | null;
  /** The desired state before the change: what a rollback puts back. */
  previous: DesiredState;
  rollback: RollbackProgress | null;
}

/** Enough evidence to see what happened; the count says how many hosts there were. */
export const MAX_RECORDED_ERRORS = 50;
