/**
 * The rollout phases of the pure state machine: `next()` with hand-made facts and a harness
 * clock (plain Date values), no stores and no waiting.
 */
import { describe, expect, it } from 'vitest';
import { DISABLED_STATE } from '../../shared/messages.js';
import type { OperationRecord } from '../../shared/model.js';
import type { RolloutProgress } from '../../shared/rollout/model.js';
import { DEFAULT_POLICY, type RolloutPolicy } from '../../shared/rollout/policy.js';
import { initialRollout } from '../../shared/services/rollout-steps.js';
import { next, type OperationFacts } from '../../shared/services/operation-machine.js';
import { startFirstWave } from '../../shared/services/rollout-machine.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const POLICY = { stuckCommitMs: 30_000, waveTimeoutMs: 60_000 };

function rollout(over: Partial<RolloutPolicy> = {}, sizes = [1, 3, 3]): RolloutProgress {
  const policy = {
    ...DEFAULT_POLICY,
    canary: { count: 1 },
    maxConcurrency: { hosts: 3 },
    bakeSeconds: 30,
    ...over,
  };
  return startFirstWave(initialRollout(policy, 'update', null)!, sizes, at(0), POLICY);
}

function operation(phase: OperationRecord['phase'], r: RolloutProgress): OperationRecord {
  return {
    id: '00000000-0000-0000-0000-000000000001',
    ccsId: 'farm',
    kind: 'update',
    status: 'Running',
    phase,
    baseGeneration: 4,
    targetGeneration: 5,
    proposed: DISABLED_STATE,
    changedFields: ['path'],
    requestedBy: 'access-token:t',
    createdAt: at(0).toISOString(),
    updatedAt: at(0).toISOString(),
    preflightDeadline: at(10).toISOString(),
    deadline: at(60).toISOString(),
    error: null,
    rollout: r,
  };
}

const wave = (over: Partial<Extract<OperationFacts, { phase: 'waves' }>> = {}): OperationFacts => ({
  phase: 'waves',
  silent: [],
  failed: [],
  regressed: [],
  ...over,
});

describe('waves', () => {
  it('waits for the silent hosts of a wave until its deadline, then counts them', () => {
    const r = rollout({}, [1, 3]);
    expect(next(operation('waves', r), wave({ silent: ['web-01'] }), at(59), POLICY)).toEqual({
      kind: 'wait',
      until: at(60).toISOString(),
    });
    const step = next(operation('waves', r), wave({ silent: ['web-01'] }), at(60), POLICY);
    expect(step).toMatchObject({ kind: 'roll', via: 'rollout-halted', phase: 'halted' });
    if (step.kind !== 'roll') throw new Error('not a roll');
    expect(step.rollout.errors).toMatchObject([{ host: 'web-01', wave: 0, reason: 'silent' }]);
  });

  it('settles a good wave, bakes, then starts the next one with its own deadline', () => {
    const r = rollout();
    const settled = next(operation('waves', r), wave(), at(5), POLICY);
    expect(settled).toMatchObject({ kind: 'roll', via: 'wave-settled', startWave: null });
    if (settled.kind !== 'roll') throw new Error('not a roll');
    expect(settled.rollout).toMatchObject({ state: 'paused', bakeUntil: at(35).toISOString() });
    expect(settled.rollout.waves[0]).toMatchObject({ settledAt: at(5).toISOString(), errors: 0 });

    const baking = operation('waves', settled.rollout);
    expect(next(baking, wave(), at(34), POLICY)).toEqual({ kind: 'wait', until: at(35).toISOString() });
    const started = next(baking, wave(), at(35), POLICY);
    expect(started).toMatchObject({ kind: 'roll', via: 'wave-started', startWave: 1 });
    if (started.kind !== 'roll') throw new Error('not a roll');
    expect(started.rollout).toMatchObject({ state: 'rolling', current: 1, bakeUntil: null });
    expect(started.rollout.waves[1]).toMatchObject({
      startedAt: at(35).toISOString(),
      deadline: at(95).toISOString(),
    });
  });

  it('succeeds when the last wave settles within the budget', () => {
    const r = { ...rollout({}, [2]), maxErrors: 1 };
    const step = next(
      operation('waves', r),
      wave({ failed: [{ host: 'web-02', error: null }] }),
      at(3),
      POLICY,
    );
    expect(step).toMatchObject({ kind: 'finish', via: 'rollout-succeeded', status: 'Succeeded' });
    expect(step).toMatchObject({ rollout: { state: 'succeeded', errorCount: 1 } });
  });

  it('halts when errors exceed max_errors, with the evidence; auto_rollback rolls back instead', () => {
    const bindings = [{ site: 's', hostName: 'www.contoso.com', port: 443, status: 'mismatch', detail: 'd' }];
    const facts = wave({ regressed: [{ host: 'web-01', bindings }] });
    expect(next(operation('waves', rollout()), facts, at(3), POLICY)).toMatchObject({
      kind: 'roll',
      via: 'rollout-halted',
      rollout: { state: 'halted', errors: [{ host: 'web-01', reason: 'serving_regressed', bindings }] },
    });
    const auto = next(operation('waves', rollout({ autoRollback: true })), facts, at(3), POLICY);
    expect(auto).toMatchObject({
      kind: 'roll',
      via: 'rollout-rolling-back',
      phase: 'rollback',
      rollout: { state: 'rolling_back', rollback: { generation: 6, by: 'auto_rollback', sentAt: null } },
    });
  });

  it('cancels on request, even mid-wave', () => {
    const r = { ...rollout(), request: { kind: 'cancel' as const, by: 'a', at: 'x' } };
    expect(next(operation('waves', r), wave({ silent: ['web-01'] }), at(1), POLICY)).toMatchObject({
      kind: 'finish',
      via: 'rollout-canceled',
      status: 'Canceled',
      rollout: { state: 'canceled' },
    });
  });
});

describe('halted', () => {
  const halted = (request: RolloutProgress['request']) => ({
    ...rollout(),
    state: 'halted' as const,
    errorCount: 1,
    waves: rollout().waves.map((w, i) => (i === 0 ? { ...w, settledAt: at(2).toISOString(), errors: 1 } : w)),
    request,
  });

  it('waits for an operator, however long', () => {
    expect(next(operation('halted', halted(null)), { phase: 'halted' }, at(99_999), POLICY)).toEqual({
      kind: 'wait',
      until: null,
    });
  });

  it('resumes into waves with the errors so far accepted; the next wave then starts', () => {
    const step = next(
      operation('halted', halted({ kind: 'resume', by: 'op', at: 'x' })),
      { phase: 'halted' },
      at(5),
      POLICY,
    );
    expect(step).toMatchObject({
      kind: 'roll',
      via: 'resumed',
      phase: 'waves',
      rollout: { accepted: 1, request: null },
    });
    if (step.kind !== 'roll') throw new Error('not a roll');
    expect(next(operation('waves', step.rollout), wave(), at(5), POLICY)).toMatchObject({
      via: 'wave-started',
      startWave: 1,
    });
  });

  it('rolls back on request, naming who asked', () => {
    expect(
      next(
        operation('halted', halted({ kind: 'rollback', by: 'entra:ops', at: 'x' })),
        { phase: 'halted' },
        at(5),
        POLICY,
      ),
    ).toMatchObject({
      via: 'rollback-requested',
      phase: 'rollback',
      rollout: { rollback: { by: 'entra:ops' } },
    });
  });
});

describe('rollback', () => {
  const rolling = (sentAt: string | null) => ({
    ...rollout(),
    state: 'rolling_back' as const,
    rollback: {
      generation: 6,
      by: 'auto_rollback',
      startedAt: at(3).toISOString(),
      sentAt,
      deadline: at(63).toISOString(),
      hosts: 1,
      serving: null,
    },
  });
  const serving = { ok: 3, mismatch: 0, failed: 0, skipped: 0 };
  const facts = (generation: number, lastOperationId: string | null, over = {}): OperationFacts => ({
    phase: 'rollback',
    desired: { generation, lastOperationId, etag: 'e' },
    silent: [],
    failed: [],
    servingPending: [],
    serving,
    ...over,
  });
  const op = (r: RolloutProgress) => operation('rollback', r);
  const id = op(rolling(null)).id;

  it('writes the previous settings at generation + 1, conditional on what it read', () => {
    expect(next(op(rolling(null)), facts(5, id), at(4), POLICY)).toMatchObject({
      kind: 'rollback-commit',
      via: 'rollback-sent',
      basedOn: 'e',
    });
    // Written by a process that died before sending: send without writing again.
    expect(next(op(rolling(null)), facts(6, id), at(4), POLICY)).toMatchObject({
      kind: 'rollback-commit',
      basedOn: null,
    });
  });

  it('gives up when another change was committed', () => {
    expect(next(op(rolling(null)), facts(6, 'other'), at(4), POLICY)).toMatchObject({
      kind: 'finish',
      via: 'rollback-conflict',
      error: { code: 'Conflict' },
    });
  });

  it('ends rolled_back once every changed host applied it, with the serving counts', () => {
    const sent = rolling(at(4).toISOString());
    expect(next(op(sent), facts(6, id, { silent: ['web-01'] }), at(10), POLICY)).toEqual({
      kind: 'wait',
      until: at(63).toISOString(),
    });
    expect(next(op(sent), facts(6, id), at(10), POLICY)).toMatchObject({
      kind: 'finish',
      via: 'rolled-back',
      status: 'Failed',
      error: { code: 'RolledBack' },
      rollout: { state: 'rolled_back', rollback: { serving } },
    });
    expect(next(op(sent), facts(6, id, { silent: ['web-01'] }), at(63), POLICY)).toMatchObject({
      via: 'rollback-failed',
      error: { code: 'RollbackFailed', message: expect.stringContaining('web-01') },
    });
  });

  it('waits for the serving checks of the hosts that applied it, until its deadline', () => {
    const sent = rolling(at(4).toISOString());
    const pending = facts(6, id, { servingPending: ['web-01'] });
    expect(next(op(sent), pending, at(10), POLICY)).toEqual({ kind: 'wait', until: at(63).toISOString() });
    // The host applied it: a check still missing at the deadline does not fail the rollback.
    expect(next(op(sent), pending, at(63), POLICY)).toMatchObject({
      via: 'rolled-back',
      rollout: { state: 'rolled_back' },
    });
  });
});
