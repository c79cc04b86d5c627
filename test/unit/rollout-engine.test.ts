/**
 * Rollouts through the operation engine on in-memory stores (held to the Table adapters'
 * contract) with a manual clock: one scenario per rollout transition, the gates on real stored
 * facts (host rows, applied generations, serving checks), operators' requests through
 * RolloutService, and the one-rollout-at-a-time rule. No I/O, no waiting.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ServingRecord } from '../../shared/bindings/model.js';
import { DomainError } from '../../shared/errors.js';
import type { Command, DesiredState, ServingResult } from '../../shared/messages.js';
import type { Clock, CommandBus } from '../../shared/ports.js';
import { DEFAULT_POLICY, type RolloutPolicy } from '../../shared/rollout/policy.js';
import { OperationEngine } from '../../shared/services/operation-engine.js';
import { TRANSITIONS, type TransitionId } from '../../shared/services/operation-machine.js';
import { ROLLOUT_TRANSITIONS, type RolloutTransitionId } from '../../shared/services/rollout-machine.js';
import { RolloutService } from '../../shared/services/rollout-service.js';
import { memoryStores } from '../support/memory-stores.js';
import { hostRecord } from '../support/store-contract.js';

const CCS = 'farm';
const WAVE_MS = 60_000;
const OLD: DesiredState = {
  enabled: true,
  path: 'C:\\old',
  username: 'u',
  password: { name: 's', version: 'v1' },
  privateKeyPassword: { name: 'k', version: 'v1' },
};
const NEW: DesiredState = { ...OLD, privateKeyPassword: { name: 'k', version: 'v2' } };
const FLEET = ['web-01', 'web-02', 'web-03', 'web-04', 'web-05'];
/** Canary web-01, then waves of two: [web-01] [web-02 web-03] [web-04 web-05]. */
const WAVES: RolloutPolicy = { ...DEFAULT_POLICY, canary: { count: 1 }, maxConcurrency: { hosts: 2 } };

const served = (status: ServingResult['status']): ServingResult => ({
  site: 'Shop',
  hostName: 'shop.contoso.com',
  port: 443,
  ip: '*',
  status,
  detail: status === 'ok' ? 'thumbprints match' : 'another certificate was served',
  file: '_.contoso.com.pfx',
  expected: null,
  served: null,
});

async function rollingOut(policy: RolloutPolicy, hosts = FLEET) {
  const stores = memoryStores();
  const clock: Clock & { t: number } = {
    t: Date.parse('2026-01-01T00:00:00Z'),
    now: () => new Date(clock.t),
  };
  const sent: Command[] = [];
  const bus: CommandBus = {
    ensureHostQueue: () => Promise.resolve(),
    send: (c) => {
      if (c.type === 'preflight' || c.type === 'apply') sent.push(c);
      return Promise.resolve();
    },
  };
  const lines: Record<string, unknown>[] = [];
  const log = {
    info: (msg: string, fields = {}) => lines.push({ msg, ...fields }),
    warn: () => undefined,
    error: () => undefined,
  };
  const engine = new OperationEngine(stores, bus, clock, log, {
    preflightTimeoutMs: 10_000,
    operationTimeoutMs: WAVE_MS,
  });
  const rollouts = new RolloutService(stores, engine, clock, log);
  // Generation 1 is on every host, and every host served its binding with it.
  await stores.desired.save(
    { ccsId: CCS, desired: OLD, generation: 1, updatedAt: 't', lastOperationId: null },
    null,
  );
  for (const host of hosts) {
    await stores.hosts.put(hostRecord(CCS, host, 1));
    await stores.serving.put(servingAt(host, 1, 'ok'));
  }
  const op = await engine.start({
    ccsId: CCS,
    kind: 'update',
    proposed: NEW,
    changedFields: ['private_key_password'],
    base: (await stores.desired.get(CCS))!.record,
    requestedBy: 'access-token:t',
    rollout: policy,
  });
  for (const host of hosts) await engine.recordHostResult(op.id, host, 'preflight', 'succeeded', null);
  await engine.advance(op.id);

  /** A host's apply of `generation`, folded as the report service folds it (serving first). */
  const apply = async (host: string, serving: ServingResult['status'] | 'failed-apply', generation = 2) => {
    if (serving === 'failed-apply') {
      const error = { name: 'private_key_password', code: 'ApplyFailed', detail: 'IIS refused', status: 409 };
      await engine.recordHostResult(op.id, host, 'apply', 'failed', error);
    } else {
      await stores.serving.put(servingAt(host, generation, serving, op.id));
      await stores.hosts.put(hostRecord(CCS, host, generation));
      await engine.recordHostResult(op.id, host, 'apply', 'succeeded', null);
    }
    return (await engine.advance(op.id))!;
  };
  const read = async () => (await stores.operations.get(op.id))!.record;
  const appliesTo = (generation = 2) =>
    sent.filter((c) => c.type === 'apply' && c.generation === generation).map((c) => c.host);
  const transitions = (): TransitionId[] =>
    lines
      .filter((l) => l.msg === 'operation transition' && l.operationId === op.id)
      .map((l) => l.via as TransitionId);
  const caller = { id: 'access-token:ops' };
  return { stores, clock, engine, rollouts, op, apply, read, appliesTo, transitions, caller };
}

function servingAt(
  host: string,
  generation: number,
  status: ServingResult['status'],
  operationId: string | null = null,
): ServingRecord {
  return {
    ccsId: CCS,
    host,
    generation,
    operationId,
    at: `2026-01-01T00:00:0${generation}Z`,
    counts: {
      ok: status === 'ok' ? 1 : 0,
      mismatch: status === 'mismatch' ? 1 : 0,
      failed: status === 'failed' ? 1 : 0,
      skipped: 0,
    },
    results: [served(status)],
    omitted: 0,
  };
}

type Run = Awaited<ReturnType<typeof rollingOut>>;

/** The canary broke serving; the rollout halted (no auto_rollback). */
async function haltedAtCanary(): Promise<Run> {
  const t = await rollingOut(WAVES);
  await t.apply('web-01', 'mismatch');
  expect(await t.read()).toMatchObject({ phase: 'halted', rollout: { state: 'halted' } });
  return t;
}

/** Through every wave: the canary, then two waves of two, each settled and baked. */
async function healthyRun(policy: RolloutPolicy = { ...WAVES, bakeSeconds: 30 }): Promise<Run> {
  const t = await rollingOut(policy);
  await t.apply('web-01', 'ok');
  t.clock.t += 30_000;
  await t.engine.advance(t.op.id);
  for (const host of ['web-02', 'web-03']) await t.apply(host, 'ok');
  t.clock.t += 30_000;
  await t.engine.advance(t.op.id);
  for (const host of ['web-04', 'web-05']) await t.apply(host, 'ok');
  return t;
}

/** One scenario per rollout transition; each returns the transitions its operation logged. */
const scenarios: Record<RolloutTransitionId, () => Promise<TransitionId[]>> = {
  'committed-wave': async () => {
    const t = await rollingOut(WAVES);
    expect(await t.read()).toMatchObject({ phase: 'waves', rollout: { state: 'rolling', current: 0 } });
    expect(t.appliesTo()).toEqual(['web-01']);
    expect((await t.stores.desired.get(CCS))!.record).toMatchObject({ generation: 2, desired: NEW });
    expect((await t.stores.operations.hosts(t.op.id)).map((r) => [r.host, r.wave])).toEqual([
      ['web-01', 0],
      ['web-02', 1],
      ['web-03', 1],
      ['web-04', 2],
      ['web-05', 2],
    ]);
    return t.transitions();
  },

  'wave-settled': async () => {
    const t = await rollingOut({ ...WAVES, bakeSeconds: 30 });
    await t.apply('web-01', 'ok');
    expect(await t.read()).toMatchObject({
      rollout: { state: 'paused', bakeUntil: '2026-01-01T00:00:30.000Z' },
    });
    t.clock.t += 29_000;
    await t.engine.advance(t.op.id);
    expect(t.appliesTo()).toEqual(['web-01']);
    return t.transitions();
  },

  'wave-started': async () => {
    const t = await rollingOut({ ...WAVES, bakeSeconds: 30 });
    await t.apply('web-01', 'ok');
    t.clock.t += 30_000;
    await t.engine.advance(t.op.id);
    expect(t.appliesTo()).toEqual(['web-01', 'web-02', 'web-03']);
    expect(await t.read()).toMatchObject({ rollout: { state: 'rolling', current: 1 } });
    return t.transitions();
  },

  'rollout-succeeded': async () => {
    const t = await healthyRun();
    const op = await t.read();
    expect(op).toMatchObject({
      status: 'Succeeded',
      phase: 'done',
      rollout: { state: 'succeeded', errorCount: 0 },
    });
    // The waves' timing: each started after the previous one settled and baked.
    expect(op.rollout!.waves.map((w) => [w.hosts, w.startedAt, w.settledAt])).toEqual([
      [1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
      [2, '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:30.000Z'],
      [2, '2026-01-01T00:01:00.000Z', '2026-01-01T00:01:00.000Z'],
    ]);
    expect((await t.stores.audit.list({ top: 5 })).map((e) => e.status)).toEqual(['Succeeded']);
    return t.transitions();
  },

  'rollout-halted': async () => {
    const t = await haltedAtCanary();
    const op = await t.read();
    expect(op.status).toBe('Running');
    expect(op.rollout!.errors).toEqual([
      expect.objectContaining({
        host: 'web-01',
        reason: 'serving_regressed',
        bindings: [expect.objectContaining({ hostName: 'shop.contoso.com', status: 'mismatch' })],
      }),
    ]);
    // No further wave starts, however long it waits.
    t.clock.t += 10 * WAVE_MS;
    await t.engine.advance(t.op.id);
    expect(t.appliesTo()).toEqual(['web-01']);
    return t.transitions();
  },

  'rollout-rolling-back': async () => {
    const t = await rollingOut({ ...WAVES, autoRollback: true });
    await t.apply('web-01', 'failed-apply');
    const op = await t.read();
    expect(op).toMatchObject({
      phase: 'rollback',
      rollout: { state: 'rolling_back', rollback: { by: 'auto_rollback' } },
    });
    expect(op.rollout!.errors[0]).toMatchObject({
      host: 'web-01',
      reason: 'apply_failed',
      detail: 'ApplyFailed: IIS refused',
    });
    return t.transitions();
  },

  'rollout-canceled': async () => {
    const t = await rollingOut(WAVES);
    await t.rollouts.stopForDisable(CCS, t.caller);
    expect(await t.read()).toMatchObject({
      status: 'Canceled',
      phase: 'done',
      rollout: { state: 'canceled' },
    });
    expect(await t.stores.audit.list({ top: 5 })).toContainEqual(
      expect.objectContaining({ kind: 'rollout.cancel', who: 'access-token:ops', operationId: t.op.id }),
    );
    return t.transitions();
  },

  resumed: async () => {
    const t = await haltedAtCanary();
    await t.rollouts.request(t.op.id, 'resume', t.caller);
    expect(t.appliesTo()).toEqual(['web-01', 'web-02', 'web-03']);
    expect(await t.read()).toMatchObject({ phase: 'waves', rollout: { accepted: 1, current: 1 } });
    // The accepted error does not halt it again; a new one would.
    for (const host of ['web-02', 'web-03']) await t.apply(host, 'ok');
    for (const host of ['web-04', 'web-05']) await t.apply(host, 'ok');
    expect(await t.read()).toMatchObject({ status: 'Succeeded', rollout: { errorCount: 1 } });
    return t.transitions();
  },

  'rollback-requested': async () => {
    const t = await haltedAtCanary();
    await t.rollouts.request(t.op.id, 'rollback', t.caller);
    expect(await t.read()).toMatchObject({
      phase: 'rollback',
      rollout: { rollback: { by: 'access-token:ops' } },
    });
    expect(await t.stores.audit.list({ top: 5 })).toContainEqual(
      expect.objectContaining({
        kind: 'rollout.rollback',
        operationId: t.op.id,
        changes: [{ field: 'rollout.state', from: 'halted', to: 'rollback' }],
      }),
    );
    return t.transitions();
  },

  'halted-canceled': async () => {
    const t = await haltedAtCanary();
    await t.rollouts.stopForDisable(CCS, t.caller);
    expect(await t.read()).toMatchObject({ status: 'Canceled', rollout: { state: 'canceled' } });
    return t.transitions();
  },

  'rollback-sent': async () => {
    const t = await haltedAtCanary();
    await t.rollouts.request(t.op.id, 'rollback', t.caller);
    // A new generation equal to the old desired state, sent to the canary only.
    expect((await t.stores.desired.get(CCS))!.record).toMatchObject({
      generation: 3,
      desired: OLD,
      lastOperationId: t.op.id,
    });
    expect(t.appliesTo(3)).toEqual(['web-01']);
    expect(await t.read()).toMatchObject({ rollout: { rollback: { generation: 3, hosts: 1 } } });
    return t.transitions();
  },

  'rolled-back': async () => {
    const t = await haltedAtCanary();
    await t.rollouts.request(t.op.id, 'rollback', t.caller);
    const op = await t.apply('web-01', 'ok', 3);
    expect(op).toMatchObject({
      status: 'Failed',
      error: { code: 'RolledBack', message: expect.stringContaining('web-01 (serving_regressed)') },
      rollout: { state: 'rolled_back', rollback: { serving: { ok: 1, mismatch: 0, failed: 0, skipped: 0 } } },
    });
    // Hosts that never received the change were not touched.
    expect(t.appliesTo(3)).toEqual(['web-01']);
    return t.transitions();
  },

  'rollback-failed': async () => {
    const t = await rollingOut({ ...WAVES, autoRollback: true });
    await t.apply('web-01', 'mismatch');
    t.clock.t += WAVE_MS;
    expect(await t.engine.advance(t.op.id)).toMatchObject({
      status: 'Failed',
      error: { code: 'RollbackFailed', message: expect.stringContaining('web-01') },
    });
    return t.transitions();
  },

  'rollback-conflict': async () => {
    const t = await haltedAtCanary();
    // Another writer committed after the rollout (not through the API: it refuses with 409).
    const current = (await t.stores.desired.get(CCS))!;
    await t.stores.desired.save({ ...current.record, generation: 3, lastOperationId: 'other' }, current.etag);
    await t.rollouts.request(t.op.id, 'rollback', t.caller);
    expect(await t.read()).toMatchObject({ status: 'Failed', error: { code: 'Conflict' } });
    return t.transitions();
  },
};

describe('rollouts in the engine, transition by transition', () => {
  it.each(Object.keys(ROLLOUT_TRANSITIONS) as RolloutTransitionId[])('%s', async (id) => {
    const path = await scenarios[id]();
    expect(path).toContain(id);
    let state: string = 'start';
    for (const via of path) {
      expect(TRANSITIONS[via].from, `${via} after ${state}`).toBe(state);
      state = TRANSITIONS[via].to;
    }
  });
});

describe('the gates and the rules around a rollout', () => {
  it('is not a rollout without a policy: every host at once, as before', async () => {
    const t = await rollingOut(DEFAULT_POLICY);
    expect(await t.read()).toMatchObject({ phase: 'apply' });
    expect((await t.read()).rollout ?? null).toBeNull();
    expect(t.appliesTo()).toEqual(FLEET);
  });

  it('waits for the serving check of a host that checked before, until the wave deadline', async () => {
    const t = await rollingOut(WAVES);
    await t.stores.hosts.put(hostRecord(CCS, 'web-01', 2));
    await t.engine.recordHostResult(t.op.id, 'web-01', 'apply', 'succeeded', null);
    expect(await t.engine.advance(t.op.id)).toMatchObject({ rollout: { state: 'rolling', current: 0 } });
    t.clock.t += WAVE_MS;
    expect(await t.engine.advance(t.op.id)).toMatchObject({
      phase: 'halted',
      rollout: { errors: [{ reason: 'silent' }] },
    });
  });

  it('reads the serving checks of a wave once every host of it applied, not on every report before', async () => {
    // Each report's advance used to read two serving checks per host of the wave that had applied
    // so far: a wave of n hosts cost n² reads (at 1,000 hosts, a wave of 250 took about a minute).
    const fleet = Array.from({ length: 21 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
    const t = await rollingOut({ ...WAVES, maxConcurrency: { hosts: 20 } }, fleet);
    await t.apply('web-01', 'ok');
    const wave = fleet.slice(1);
    expect(t.appliesTo()).toEqual(fleet);
    const reads = [vi.spyOn(t.stores.serving, 'latest'), vi.spyOn(t.stores.serving, 'atGeneration')];
    const counted = () => reads.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    for (const host of wave.slice(0, -1)) await t.apply(host, 'ok');
    expect(await t.read()).toMatchObject({ status: 'Running', rollout: { current: 1, state: 'rolling' } });
    expect(counted()).toBe(0);
    await t.apply(wave.at(-1)!, 'ok');
    expect(await t.read()).toMatchObject({ status: 'Succeeded', rollout: { errorCount: 0 } });
    // The checks of this generation in one query, each host's check from before in one read.
    expect(counted()).toBe(wave.length + 1);
  });

  it("ends a rollback only once the rolled-back hosts' serving checks are stored (or its deadline)", async () => {
    const t = await haltedAtCanary();
    await t.rollouts.request(t.op.id, 'rollback', t.caller);
    // Applied, as another advance sees it before the report's serving check is stored.
    await t.stores.hosts.put(hostRecord(CCS, 'web-01', 3));
    await t.engine.recordHostResult(t.op.id, 'web-01', 'apply', 'succeeded', null);
    expect(await t.engine.advance(t.op.id)).toMatchObject({ status: 'Running', phase: 'rollback' });
    await t.stores.serving.put(servingAt('web-01', 3, 'ok', t.op.id));
    expect(await t.engine.advance(t.op.id)).toMatchObject({
      status: 'Failed',
      rollout: { state: 'rolled_back', rollback: { serving: { ok: 1, mismatch: 0, failed: 0, skipped: 0 } } },
    });
  });

  it('answers a second change during a rollout with 409 naming the operation', async () => {
    const t = await rollingOut(WAVES);
    const refusal = await t.rollouts.forChange(CCS, undefined).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ kind: 'conflict', code: 'RolloutInProgress', field: 'id' });
    expect((refusal as Error).message).toContain(t.op.id);
  });

  it('takes a change again once the rollout ended, under the ccs-id policy or the request one', async () => {
    const t = await healthyRun();
    expect(await t.rollouts.forChange(CCS, undefined)).toEqual(DEFAULT_POLICY);
    await t.rollouts.setPolicy(CCS, WAVES, t.caller);
    expect(await t.rollouts.forChange(CCS, undefined)).toEqual(WAVES);
    expect(await t.rollouts.forChange(CCS, DEFAULT_POLICY)).toEqual(DEFAULT_POLICY);
  });

  it('refuses resume and rollback of a rollout that is not halted, and of an unknown operation', async () => {
    const t = await rollingOut(WAVES);
    await expect(t.rollouts.request(t.op.id, 'resume', t.caller)).rejects.toMatchObject({
      kind: 'conflict',
      code: 'RolloutNotHalted',
    });
    await expect(t.rollouts.request('not-an-id', 'rollback', t.caller)).rejects.toMatchObject({
      kind: 'not-found',
    });
    expect(await t.stores.audit.list({ top: 5 })).toHaveLength(1);
  });

  it('counts errors against max_errors in hosts: one allowed error rolls on', async () => {
    const t = await rollingOut({ ...WAVES, maxErrors: { hosts: 1 } });
    await t.apply('web-01', 'failed-apply');
    expect(await t.read()).toMatchObject({ rollout: { current: 1, errorCount: 1 } });
    await t.apply('web-02', 'mismatch');
    await t.apply('web-03', 'ok');
    expect(await t.read()).toMatchObject({ phase: 'halted', rollout: { errorCount: 2 } });
  });
});
