/**
 * The I/O of the rollout steps (rollout-machine.ts decides them, operation-engine.ts runs the
 * loop): commit to the first wave, start a wave, write and send a rollback. Commands go out
 * before the operation record says they did: a record that loses its conditional write means
 * another process took the same step, and an apply sent twice is harmless (level-triggered).
 */
import { eachLimited } from '../each-limited.js';
import { DISABLED_STATE, type DesiredState } from '../messages.js';
import type { CcsRecord, HostRecord, OperationHostRecord, OperationRecord } from '../model.js';
import type { Stores } from '../ports.js';
import type { RolloutProgress } from '../rollout/model.js';
import { isDefaultPolicy, planWaves, resolveCount, type RolloutPolicy } from '../rollout/policy.js';
import { rowsUpTo } from './rollout-facts.js';
import {
  startFirstWave,
  type RolloutStep,
  type RolloutTimes,
  type RolloutTransitionId,
} from './rollout-machine.js';

/** The engine's hold on an operation between steps. */
export interface Held {
  op: OperationRecord;
  etag: string;
  /** Whether this engine holds the commit (see OperationFacts). */
  claimed: boolean;
}

/** What the steps need of the engine. */
export interface StepContext {
  stores: Pick<Stores, 'desired' | 'hosts' | 'operations'>;
  times: RolloutTimes;
  now(): Date;
  /** Write the operation conditionally; null when another process wrote first. */
  save(held: Held, op: OperationRecord): Promise<Held | null>;
  /** Send `apply` of `generation` with `desired` to `host`. */
  apply(op: OperationRecord, host: string, generation: number, desired: DesiredState): Promise<void>;
  logTransition(
    op: OperationRecord,
    via: RolloutTransitionId,
    fields?: Record<string, string | number>,
  ): void;
}

/** Commands in flight at once when a wave starts (as the engine's fan-out). */
const WAVE_CONCURRENCY = 256;

/**
 * The rollout an operation starts with: none for the default policy (all hosts at once, exactly
 * as without rollouts) and for a disable (it cannot be rolled back: its secrets are deleted).
 */
export function initialRollout(
  policy: RolloutPolicy | null,
  kind: OperationRecord['kind'],
  base: CcsRecord | null,
): RolloutProgress | null {
  if (!policy || isDefaultPolicy(policy) || kind === 'disable') return null;
  return {
    policy,
    state: 'rolling',
    waves: [],
    current: -1,
    bakeUntil: null,
    maxErrors: 0,
    errorCount: 0,
    errors: [],
    accepted: 0,
    request: null,
    previous: base?.desired ?? DISABLED_STATE,
    rollback: null,
  };
}

/**
 * After the desired state is written: give every host its wave (on its row), send apply to the
 * first wave, and move to `waves`.
 */
export async function commitToFirstWave(
  ctx: StepContext,
  held: Held,
  rollout: RolloutProgress,
  hosts: HostRecord[],
  rows: OperationHostRecord[],
): Promise<Held | null> {
  const { op } = held;
  const waves = planWaves(
    hosts.map((h) => h.host),
    rollout.policy,
  );
  const byHost = new Map(rows.map((r) => [r.host.toLowerCase(), r]));
  const now = ctx.now().toISOString();
  await eachLimited(
    waves.flatMap((hostsOf, wave) => hostsOf.map((host) => ({ host, wave }))),
    WAVE_CONCURRENCY,
    ({ host, wave }) => {
      const row = byHost.get(host.toLowerCase());
      return ctx.stores.operations.putHost(
        row
          ? { ...row, wave }
          : {
              operationId: op.id,
              host,
              preflight: 'skipped',
              apply: 'pending',
              error: null,
              updatedAt: now,
              wave,
            },
      );
    },
  );
  await eachLimited(waves[0] ?? [], WAVE_CONCURRENCY, (host) =>
    ctx.apply(op, host, op.targetGeneration, op.proposed),
  );
  const started = startFirstWave(
    { ...rollout, maxErrors: resolveCount(rollout.policy.maxErrors, hosts.length, 'down') },
    waves.map((w) => w.length),
    ctx.now(),
    ctx.times,
  );
  const saved = await ctx.save(held, { ...op, phase: 'waves', rollout: started, updatedAt: now });
  if (saved)
    ctx.logTransition(op, 'committed-wave', { generation: op.targetGeneration, waves: waves.length });
  return saved && { ...saved, claimed: false };
}

/** A `roll` step: send the wave it starts (if any), then save the new progress and phase. */
export async function roll(
  ctx: StepContext,
  held: Held,
  step: Extract<RolloutStep, { kind: 'roll' }>,
): Promise<Held | null> {
  const { op } = held;
  if (step.startWave !== null) {
    const rows = (await ctx.stores.operations.hosts(op.id)).filter((r) => r.wave === step.startWave);
    await eachLimited(rows, WAVE_CONCURRENCY, (r) => ctx.apply(op, r.host, op.targetGeneration, op.proposed));
  }
  const saved = await ctx.save(held, {
    ...op,
    phase: step.phase,
    rollout: step.rollout,
    updatedAt: ctx.now().toISOString(),
  });
  if (saved) ctx.logTransition(op, step.via, { state: step.rollout.state, wave: step.rollout.current });
  return saved;
}

/**
 * Put the previous settings back: the desired state at the rollback generation (unless already
 * written), apply to every host of the started waves — hosts of later waves never received the
 * change and are not touched — then save that it was sent.
 */
export async function commitRollback(
  ctx: StepContext,
  held: Held,
  step: Extract<RolloutStep, { kind: 'rollback-commit' }>,
): Promise<Held | null> {
  const { op } = held;
  const rollback = step.rollout.rollback;
  if (!rollback) return held;
  const now = ctx.now().toISOString();
  if (step.basedOn !== null) {
    const written = await ctx.stores.desired.save(
      {
        ccsId: op.ccsId,
        desired: step.rollout.previous,
        generation: rollback.generation,
        updatedAt: now,
        lastOperationId: op.id,
      },
      step.basedOn,
    );
    // Lost: the next facts say whether another change came first (a conflict) or it was ours.
    if (written === null) return held;
  }
  const changed = rowsUpTo(await ctx.stores.operations.hosts(op.id), step.rollout.current);
  await eachLimited(changed, WAVE_CONCURRENCY, async (r) => {
    // The row's apply now tracks the rollback: a failure from before is evidence on the rollout.
    await ctx.stores.operations.putHost({ ...r, apply: 'pending', updatedAt: now });
    await ctx.apply(op, r.host, rollback.generation, step.rollout.previous);
  });
  const rollout = { ...step.rollout, rollback: { ...rollback, sentAt: now, hosts: changed.length } };
  const saved = await ctx.save(held, { ...op, rollout, updatedAt: now });
  if (saved) ctx.logTransition(op, step.via, { generation: rollback.generation, hosts: changed.length });
  return saved;
}
