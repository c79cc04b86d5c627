/**
 * The operation engine on in-memory stores (test/support/memory-stores.ts, held to the Table
 * adapters' contract) with a manual clock: every transition of the state machine, takeovers,
 * duplicates and races, without I/O or waiting.
 */
import { describe, expect, it } from 'vitest';
import {
  DISABLED_STATE,
  type AgentCommand,
  type Command,
  type DesiredState,
  type HostError,
} from '../../shared/messages.js';
import type { ReencryptCommand } from '../../shared/publishing/messages.js';
import type { OperationRecord } from '../../shared/model.js';
import type { Clock, CommandBus, OperationRepository } from '../../shared/ports.js';
import { OperationEngine, type ChangeInput } from '../../shared/services/operation-engine.js';
import { TRANSITIONS, type TransitionId } from '../../shared/services/operation-machine.js';
import { ROLLOUT_TRANSITIONS, type RolloutTransitionId } from '../../shared/services/rollout-machine.js';
import { memoryStores } from '../support/memory-stores.js';
import { hostRecord } from '../support/store-contract.js';

class RecordingBus implements CommandBus {
  sent: AgentCommand[] = [];
  onSend?: (sent: number) => Promise<void>;
  ensureHostQueue(): Promise<void> {
    return Promise.resolve();
  }
  async send(command: AgentCommand): Promise<void> {
    this.sent.push(command);
    await this.onSend?.(this.sent.length);
  }
  of(type: Command['type']): Command[] {
    return this.sent.filter((c): c is Command => c.type === type);
  }
  reencrypts(): ReencryptCommand[] {
    return this.sent.filter((c): c is ReencryptCommand => c.type === 'reencrypt');
  }
}

class ManualClock implements Clock {
  t = Date.parse('2026-01-01T00:00:00Z');
  now(): Date {
    return new Date(this.t);
  }
}

const CCS = 'farm';
const PREFLIGHT_MS = 10_000;
const DEADLINE_MS = 60_000;
const STUCK_MS = 5_000;
const error: HostError = {
  name: 'identity',
  code: 'CannotAccessStore',
  detail: 'Cannot access certificate store',
  status: 400,
};
const enabled = (path: string): DesiredState => ({
  enabled: true,
  path,
  username: 'u',
  password: { name: 's', version: 'v1' },
  privateKeyPassword: null,
});

/** An engine on fresh in-memory stores; `transitions()` lists what it logged, in order. */
function setup(hosts: string[] = []) {
  const stores = memoryStores();
  const clock = new ManualClock();
  const bus = new RecordingBus();
  const lines: Record<string, unknown>[] = [];
  const log = {
    info: (msg: string, fields = {}) => lines.push({ msg, ...fields }),
    warn: (msg: string, fields = {}) => lines.push({ msg, ...fields }),
    error: (msg: string, fields = {}) => lines.push({ msg, ...fields }),
  };
  const engine = new OperationEngine(stores, bus, clock, log, {
    preflightTimeoutMs: PREFLIGHT_MS,
    operationTimeoutMs: DEADLINE_MS,
    stuckCommitMs: STUCK_MS,
  });
  const enrol = (host: string, applied = 0) => stores.hosts.put(hostRecord(CCS, host, applied));
  const change = async (kind: ChangeInput['kind'], proposed: DesiredState): Promise<ChangeInput> => ({
    ccsId: CCS,
    kind,
    proposed,
    changedFields: ['path'],
    base: (await stores.desired.get(CCS))?.record ?? null,
    requestedBy: 'access-token:t',
  });
  /** A host's result report, folded as the report service folds it, then an advance. */
  const report = async (
    op: OperationRecord,
    host: string,
    phase: 'preflight' | 'apply',
    outcome: 'succeeded' | 'failed' | 'superseded',
  ) => {
    if (phase === 'apply' && outcome === 'succeeded') await enrol(host, op.targetGeneration);
    await engine.recordHostResult(op.id, host, phase, outcome, outcome === 'failed' ? error : null);
    return engine.advance(op.id);
  };
  /** The transitions logged, per operation, in order. */
  const transitions = () => {
    const byOperation = new Map<string, TransitionId[]>();
    for (const l of lines.filter((l) => l.msg === 'operation transition')) {
      const id = String(l.operationId);
      byOperation.set(id, [...(byOperation.get(id) ?? []), l.via as TransitionId]);
    }
    return [...byOperation.values()];
  };
  return {
    stores,
    clock,
    bus,
    engine,
    lines,
    enrol,
    change,
    report,
    transitions,
    ready: Promise.all(hosts.map((h) => enrol(h))),
  };
}

/** An operation that passed preflight on `hosts` and waits for their apply. */
async function applying(hosts: string[]) {
  const t = setup(hosts);
  await t.ready;
  const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
  for (const host of hosts) await t.report(op, host, 'preflight', 'succeeded');
  return { ...t, op };
}

/** The transitions of a change without a rollout; the rollout's are in rollout-engine.test.ts. */
type ClassicTransitionId = Exclude<TransitionId, RolloutTransitionId>;
const CLASSIC = (Object.keys(TRANSITIONS) as TransitionId[]).filter(
  (id): id is ClassicTransitionId => !(id in ROLLOUT_TRANSITIONS),
);
const KEY_V1 = { name: 'pkp', version: 'k1' };
const KEY_V2 = { name: 'pkp', version: 'k2' };

/** A rotation of an enabled store (generation 1) from `KEY_V1` to `KEY_V2`, published by web-01. */
async function rotating(hosts: string[]) {
  const t = setup(hosts);
  await t.ready;
  const store = { ...enabled('C:\\store'), privateKeyPassword: KEY_V1 };
  const enable = await t.engine.start(await t.change('enable', store));
  for (const host of hosts) await t.report(enable, host, 'preflight', 'succeeded');
  for (const host of hosts) await t.report(enable, host, 'apply', 'succeeded');
  t.bus.sent = [];
  const op = await t.engine.startRotation(
    {
      ...(await t.change('update', { ...store, privateKeyPassword: KEY_V2 })),
      changedFields: ['private_key_password'],
    },
    {
      path: 'C:\\store',
      stage: '.ccs-rotation-k2',
      from: KEY_V1,
      to: KEY_V2,
      profile: 'aes256-sha256',
      step: {
        kind: 'stage',
        host: 'web-01',
        requestedAt: '2026-01-01T00:00:00Z',
        outcome: 'pending',
        error: null,
      },
    },
  );
  /** The publisher's report of its current step. */
  const step = (kind: 'stage' | 'in-place', outcome: 'succeeded' | 'failed') =>
    t.engine.recordRotationStep({
      v: 1,
      type: 'reencrypt',
      ccsId: CCS,
      host: 'web-01',
      operationId: op.id,
      step: kind,
      outcome,
      error: outcome === 'failed' ? { name: 'share', code: 'ShareFull', detail: 'full', status: 507 } : null,
      files: 3,
      foreign: [],
      at: '2026-01-01T00:00:01Z',
    });
  /** Every host preflights, then applies, the current round. */
  const round = async () => {
    const current = (await t.stores.operations.get(op.id))!.record;
    for (const host of hosts) await t.report(current, host, 'preflight', 'succeeded');
    const applying = (await t.stores.operations.get(op.id))!.record;
    let last: OperationRecord | null = null;
    for (const host of hosts) last = await t.report(applying, host, 'apply', 'succeeded');
    return last;
  };
  return { ...t, op, step, round };
}

/** One scenario per transition: it must end with that transition logged. */
const scenarios: Record<ClassicTransitionId, () => Promise<{ transitions: TransitionId[][] }>> = {
  'start-preflight': async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    expect(op).toMatchObject({ status: 'Running', phase: 'preflight', targetGeneration: 1 });
    expect(t.bus.of('preflight').map((c) => c.host)).toEqual(['web-01', 'web-02']);
    expect(await t.stores.desired.get(CCS)).toBeNull();
    return { transitions: t.transitions() };
  },

  'start-commit': async () => {
    // A disable needs no preflight, even with hosts enrolled.
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('disable', DISABLED_STATE));
    expect(op).toMatchObject({ status: 'Running', phase: 'apply' });
    expect(t.bus.sent.map((c) => c.type)).toEqual(['apply']);
    return { transitions: t.transitions() };
  },

  'preflight-failed': async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    const ended = await t.report(op, 'web-02', 'preflight', 'failed');
    // One host failing ends it, whatever the others still owe; nothing was committed.
    expect(ended).toMatchObject({
      status: 'Failed',
      phase: 'done',
      error: { code: 'CannotAccessStore', target: 'identity', status: 400 },
    });
    expect(await t.stores.desired.get(CCS)).toBeNull();
    expect(t.bus.of('apply')).toEqual([]);
    return { transitions: t.transitions() };
  },

  'preflight-not-sent': async () => {
    // Key Vault fails while the second host's preflight is being signed (soak seed 20261202).
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    t.bus.onSend = (sent) =>
      sent === 2 ? Promise.reject(new Error('Key Vault sign failed (HTTP 503)')) : Promise.resolve();
    const op = await t.engine.start(await t.change('update', enabled('C:\\a')));
    expect(op).toMatchObject({ status: 'Failed', error: { code: 'CommandsNotSent', status: 503 } });
    expect(await t.stores.desired.get(CCS)).toBeNull();
    expect(t.bus.of('apply')).toEqual([]);
    // Recorded and audited once, and the audit entry says how it ended.
    const audit = await t.stores.audit.list({ ccsId: CCS, top: 10 });
    expect(audit.map((e) => [e.operationId, e.status])).toEqual([[op.id, 'Failed']]);
    return { transitions: t.transitions() };
  },

  'preflight-passed': async () => {
    const t = await applying(['web-01', 'web-02']);
    expect(await t.stores.operations.get(t.op.id)).toMatchObject({ record: { phase: 'apply' } });
    expect(t.bus.of('apply').map((c) => c.host)).toEqual(['web-01', 'web-02']);
    return { transitions: t.transitions() };
  },

  'preflight-timed-out': async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    await t.report(op, 'web-01', 'preflight', 'succeeded');
    t.clock.t += PREFLIGHT_MS - 1;
    expect((await t.engine.advance(op.id))?.phase).toBe('preflight');
    t.clock.t += 1;
    expect((await t.engine.advance(op.id))?.phase).toBe('apply');
    expect(await t.stores.operations.host(op.id, 'web-02')).toMatchObject({ preflight: 'unreachable' });
    // The silent host is sent the apply too: its agent preflights again before applying.
    expect(t.bus.of('apply').map((c) => c.host)).toEqual(['web-01', 'web-02']);
    return { transitions: t.transitions() };
  },

  'commit-taken-over': async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    // The process that moves it to committing fails there (storage went away): nothing committed.
    const save = t.stores.desired.save.bind(t.stores.desired);
    t.stores.desired.save = () => Promise.reject(new Error('storage unavailable'));
    await expect(t.report(op, 'web-01', 'preflight', 'succeeded')).rejects.toThrow('storage unavailable');
    t.stores.desired.save = save;
    t.clock.t += STUCK_MS - 1;
    expect((await t.engine.advance(op.id))?.phase).toBe('committing');
    t.clock.t += 1;
    expect((await t.engine.advance(op.id))?.phase).toBe('apply');
    expect((await t.stores.desired.get(CCS))?.record.generation).toBe(1);
    expect(t.bus.of('apply')).toHaveLength(1);
    return { transitions: t.transitions() };
  },

  'commit-conflict': async () => {
    const t = setup();
    await t.engine.start(await t.change('enable', enabled('C:\\a')));
    // Two changes computed from generation 1: the later one to commit is refused, not lost.
    const [a, b] = [await t.change('update', enabled('C:\\b')), await t.change('update', enabled('C:\\c'))];
    expect(await t.engine.start(a)).toMatchObject({ status: 'Succeeded' });
    expect(await t.engine.start(b)).toMatchObject({
      status: 'Failed',
      error: { code: 'Conflict', target: 'id', status: 409 },
    });
    expect((await t.stores.desired.get(CCS))?.record).toMatchObject({
      generation: 2,
      desired: { path: 'C:\\b' },
    });
    return { transitions: t.transitions() };
  },

  committed: async () => {
    const t = await applying(['web-01']);
    expect((await t.stores.desired.get(CCS))?.record).toMatchObject({
      generation: 1,
      desired: { path: 'C:\\a' },
      lastOperationId: t.op.id,
    });
    return { transitions: t.transitions() };
  },

  'apply-succeeded': async () => {
    const t = await applying(['web-01', 'web-02']);
    expect((await t.report(t.op, 'web-01', 'apply', 'succeeded'))?.status).toBe('Running');
    expect(await t.report(t.op, 'web-02', 'apply', 'succeeded')).toMatchObject({
      status: 'Succeeded',
      phase: 'done',
    });
    expect(await t.stores.operations.activeIds()).toEqual([]);
    expect((await t.stores.audit.list({ top: 1 }))[0]).toMatchObject({
      operationId: t.op.id,
      status: 'Succeeded',
    });
    return { transitions: t.transitions() };
  },

  'apply-failed': async () => {
    const t = await applying(['web-01', 'web-02']);
    await t.report(t.op, 'web-01', 'apply', 'failed');
    expect(await t.report(t.op, 'web-02', 'apply', 'succeeded')).toMatchObject({
      status: 'Failed',
      error: { code: 'CannotAccessStore' },
    });
    return { transitions: t.transitions() };
  },

  'apply-timed-out': async () => {
    const t = await applying(['web-01', 'web-02']);
    await t.report(t.op, 'web-01', 'apply', 'succeeded');
    t.clock.t += DEADLINE_MS;
    expect(await t.engine.advance(t.op.id)).toMatchObject({
      status: 'Failed',
      error: { code: 'HostsDidNotReport', message: expect.stringContaining('web-02') },
    });
    // The committed state stays: the silent host converges when it returns.
    expect((await t.stores.desired.get(CCS))?.record.generation).toBe(1);
    return { transitions: t.transitions() };
  },

  'start-staging': async () => {
    const t = await rotating(['web-01', 'web-02']);
    expect(t.op).toMatchObject({ kind: 'rotate', phase: 'staging', status: 'Running' });
    expect(t.bus.reencrypts()).toMatchObject([{ host: 'web-01', step: 'stage', stage: '.ccs-rotation-k2' }]);
    expect(t.bus.of('preflight')).toEqual([]);
    return { transitions: t.transitions() };
  },

  'staging-failed': async () => {
    const t = await rotating(['web-01', 'web-02']);
    await t.step('stage', 'failed');
    expect((await t.stores.operations.get(t.op.id))?.record).toMatchObject({
      status: 'Failed',
      error: { code: 'ShareFull' },
    });
    // No host was asked to move: the store stays as it was.
    expect(t.bus.of('preflight')).toEqual([]);
    expect((await t.stores.desired.get(CCS))?.record.desired.privateKeyPassword).toEqual(KEY_V1);
    return { transitions: t.transitions() };
  },

  staged: async () => {
    const t = await rotating(['web-01', 'web-02']);
    await t.step('stage', 'succeeded');
    const preflights = t.bus.of('preflight');
    expect(preflights.map((c) => c.host)).toEqual(['web-01', 'web-02']);
    expect(preflights[0]).toMatchObject({
      generation: 2,
      desired: { path: 'C:\\store\\.ccs-rotation-k2', privateKeyPassword: KEY_V2 },
    });
    return { transitions: t.transitions() };
  },

  'apply-staged': async () => {
    const t = await rotating(['web-01', 'web-02']);
    await t.step('stage', 'succeeded');
    expect(await t.round()).toMatchObject({ status: 'Running', phase: 'reencrypting' });
    expect(t.bus.reencrypts().map((c) => c.step)).toEqual(['stage', 'in-place']);
    return { transitions: t.transitions() };
  },

  'reencrypt-failed': async () => {
    const t = await rotating(['web-01', 'web-02']);
    await t.step('stage', 'succeeded');
    await t.round();
    await t.step('in-place', 'failed');
    expect((await t.stores.operations.get(t.op.id))?.record.status).toBe('Failed');
    // The hosts stay on the staging copy, which opens with the new password.
    expect((await t.stores.desired.get(CCS))?.record.desired).toMatchObject({
      path: 'C:\\store\\.ccs-rotation-k2',
      privateKeyPassword: KEY_V2,
    });
    return { transitions: t.transitions() };
  },

  reencrypted: async () => {
    const t = await rotating(['web-01', 'web-02']);
    await t.step('stage', 'succeeded');
    await t.round();
    await t.step('in-place', 'succeeded');
    expect(await t.round()).toMatchObject({ status: 'Succeeded', phase: 'done', targetGeneration: 3 });
    expect((await t.stores.desired.get(CCS))?.record).toMatchObject({
      generation: 3,
      desired: { path: 'C:\\store', privateKeyPassword: KEY_V2 },
    });
    return { transitions: t.transitions() };
  },
};

describe('the operation state machine, transition by transition', () => {
  it.each(CLASSIC)('%s', async (id) => {
    const { transitions } = await scenarios[id]();
    expect(transitions.flat()).toContain(id);
    // Every transition logged is one of the machine's, from the state the previous one reached.
    for (const path of transitions) {
      let state: string = 'start';
      for (const via of path) {
        expect(TRANSITIONS[via].from, `${via} after ${state}`).toBe(state);
        state = TRANSITIONS[via].to;
      }
    }
  });
});

describe('level-triggered progress', () => {
  it('counts a host that applied a newer generation as done, whatever message told it to', async () => {
    const t = await applying(['web-01']);
    await t.enrol('web-01', 7);
    expect((await t.engine.advance(t.op.id))?.status).toBe('Succeeded');
  });

  it('sends apply to a host that enrolled during preflight, with a row of its own', async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    await t.enrol('web-02');
    await t.report(op, 'web-01', 'preflight', 'succeeded');
    expect(t.bus.of('apply').map((c) => c.host)).toEqual(['web-01', 'web-02']);
    expect(await t.stores.operations.host(op.id, 'web-02')).toMatchObject({
      preflight: 'skipped',
      apply: 'pending',
    });
  });

  it('resumes a commit whose desired-state write had landed without writing it again', async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    const loaded = (await t.stores.operations.get(op.id))!;
    await t.stores.operations.save(
      { ...loaded.record, phase: 'committing', updatedAt: t.clock.now().toISOString() },
      loaded.etag,
    );
    // The crashed process had written the desired state, but sent nothing.
    await t.stores.desired.save(
      { ccsId: CCS, desired: op.proposed, generation: 1, updatedAt: 't', lastOperationId: op.id },
      null,
    );
    const written = (await t.stores.desired.get(CCS))!.etag;
    t.clock.t += STUCK_MS;
    expect((await t.engine.advance(op.id))?.phase).toBe('apply');
    expect((await t.stores.desired.get(CCS))!.etag).toBe(written);
    expect(t.bus.of('apply')).toHaveLength(1);
  });

  it('refuses a commit when another change commits between its read and its write', async () => {
    const t = setup();
    await t.engine.start(await t.change('enable', enabled('C:\\a')));
    const [a, b] = [await t.change('update', enabled('C:\\b')), await t.change('update', enabled('C:\\c'))];
    // B reads generation 1; before it writes, A commits generation 2.
    const get = t.stores.desired.get.bind(t.stores.desired);
    let raced = false;
    t.stores.desired.get = async (id) => {
      const read = await get(id);
      if (!raced) {
        raced = true;
        expect(await t.engine.start(a)).toMatchObject({ status: 'Succeeded', targetGeneration: 2 });
      }
      return read;
    };
    expect(await t.engine.start(b)).toMatchObject({ status: 'Failed', error: { code: 'Conflict' } });
    expect((await t.stores.desired.get(CCS))?.record).toMatchObject({
      generation: 2,
      desired: { path: 'C:\\b' },
    });
  });

  it('sees a preflight failure that lands while it reads, and never commits over it', async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('enable', enabled('C:\\a')));
    // The host's failure is recorded right after the engine's first query, before its second.
    const operations: OperationRepository = t.stores.operations;
    const query = operations.hostsWhere.bind(operations);
    let flipped = false;
    operations.hostsWhere = async (...args) => {
      const rows = await query(...args);
      if (!flipped) {
        flipped = true;
        await operations.setHostStep(op.id, 'web-01', 'preflight', 'failed', error, 't');
      }
      return rows;
    };
    expect(await t.engine.advance(op.id)).toMatchObject({ status: 'Failed' });
    expect(await t.stores.desired.get(CCS)).toBeNull();
  });
});

describe('a failure that lands at the preflight deadline (soak seed 20261202)', () => {
  it('fails the change instead of committing it without the host that refused', async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('C:\\a')));
    t.clock.t += PREFLIGHT_MS + 1;
    // web-01's failure is folded right after the engine read that no host had failed yet.
    const operations: OperationRepository = t.stores.operations;
    const query = operations.hostsWhere.bind(operations);
    let landed = false;
    operations.hostsWhere = async (...args) => {
      const rows = await query(...args);
      if (!landed && args[1] === 'preflight' && args[2] === 'failed') {
        landed = true;
        await operations.setHostStep(op.id, 'web-01', 'preflight', 'failed', error, 't');
      }
      return rows;
    };
    expect(await t.engine.advance(op.id)).toMatchObject({ status: 'Failed', error: { code: error.code } });
    expect(t.bus.of('apply')).toEqual([]);
    expect(await t.stores.desired.get(CCS)).toBeNull();
    expect((await t.stores.operations.host(op.id, 'web-02'))?.preflight).toBe('unreachable');
  });
});

/**
 * Runs `step` once in the middle of a read-then-write of `host`'s row (any host when omitted):
 * right after a point read of it with its ETag (the engine's), or right before a batch of
 * conditional replaces that includes it (the fold's, whose rows were read earlier). Another
 * writer's step between the read and the write. Returns whether it ran.
 */
function between(operations: OperationRepository, host: string | undefined, step: () => Promise<unknown>) {
  const read = operations.getHost.bind(operations);
  const save = operations.saveHosts.bind(operations);
  let ran = false;
  const once = async (hosts: string[]) => {
    if (!ran && (host === undefined || hosts.includes(host))) {
      ran = true;
      await step();
    }
  };
  operations.getHost = async (...args) => {
    const row = await read(...args);
    await once([args[1]]);
    return row;
  };
  operations.saveHosts = async (...args) => {
    await once(args[1].map((w) => w.record.host));
    return save(...args);
  };
  return () => ran;
}

describe('a preflight result that races the deadline (soak seed 20261204)', () => {
  it('leaves a host marked unreachable as it is when its failure is folded after the commit', async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('C:\\a')));
    await t.report(op, 'web-02', 'preflight', 'succeeded');
    t.clock.t += PREFLIGHT_MS + 1;
    // The fold reads web-01's row (still pending); before it writes, the engine acts on the
    // deadline: web-01 unreachable, no failure, committed.
    const raced = between(t.stores.operations, undefined, async () =>
      expect(await t.engine.advance(op.id)).toMatchObject({ phase: 'apply' }),
    );
    await t.engine.recordHostResult(op.id, 'web-01', 'preflight', 'failed', error);
    expect(raced()).toBe(true);
    expect(await t.stores.operations.host(op.id, 'web-01')).toMatchObject({
      preflight: 'unreachable',
      apply: 'pending',
      error: null,
    });
    expect(t.lines).toContainEqual(
      expect.objectContaining({ msg: expect.stringContaining('late preflight result'), host: 'web-01' }),
    );
    // It still gets the apply, like every host, and checks the change again there.
    expect(t.bus.of('apply').map((c) => c.host)).toEqual(['web-01', 'web-02']);
    expect(await t.report(op, 'web-01', 'apply', 'failed')).toMatchObject({ status: 'Running' });
    expect(await t.stores.operations.host(op.id, 'web-01')).toMatchObject({
      preflight: 'unreachable',
      apply: 'failed',
      error,
    });
  });

  it('keeps a failure folded while the engine marks silent hosts unreachable, and fails the change', async () => {
    const t = setup(['web-01', 'web-02']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('C:\\a')));
    t.clock.t += PREFLIGHT_MS + 1;
    // The engine reads web-01's row (pending) to mark it; the failure is folded before its write.
    const landed = between(t.stores.operations, 'web-01', () =>
      t.stores.operations.setHostStep(op.id, 'web-01', 'preflight', 'failed', error, 't'),
    );
    expect(await t.engine.advance(op.id)).toMatchObject({ status: 'Failed', error: { code: error.code } });
    expect(landed()).toBe(true);
    expect(t.bus.of('apply')).toEqual([]);
    expect(await t.stores.desired.get(CCS)).toBeNull();
    expect((await t.stores.operations.hosts(op.id)).map((r) => [r.host, r.preflight, r.apply])).toEqual([
      ['web-01', 'failed', 'skipped'],
      ['web-02', 'unreachable', 'skipped'],
    ]);
  });

  it('closes pending steps without overwriting a result folded meanwhile', async () => {
    const t = await applying(['web-01', 'web-02']);
    t.clock.t += DEADLINE_MS + 1;
    // Closing reads web-01's row (apply pending); its apply failure is folded before the write.
    const landed = between(t.stores.operations, 'web-01', () =>
      t.stores.operations.setHostStep(t.op.id, 'web-01', 'apply', 'failed', error, 't'),
    );
    expect(await t.engine.advance(t.op.id)).toMatchObject({ status: 'Failed' });
    expect(landed()).toBe(true);
    expect((await t.stores.operations.hosts(t.op.id)).map((r) => [r.host, r.preflight, r.apply])).toEqual([
      ['web-01', 'succeeded', 'failed'],
      ['web-02', 'succeeded', 'unreachable'],
    ]);
  });
});

describe('a change that commits at once, whose apply cannot be sent (soak seed 20261204)', () => {
  it('is answered with its operation, not an error, and the sweeper resumes the commit', async () => {
    const t = await applying(['web-01', 'web-02']);
    for (const host of ['web-01', 'web-02']) await t.report(t.op, host, 'apply', 'succeeded');
    // Key Vault throttles the signing of the disable's first apply past the SDK's retries.
    let failed = false;
    t.bus.onSend = () => {
      const last = t.bus.sent.at(-1);
      if (failed || last?.type !== 'apply' || last.generation !== 2) return Promise.resolve();
      failed = true;
      return Promise.reject(new Error('Key Vault sign failed (HTTP 429, Throttled)'));
    };
    const op = await t.engine.start(await t.change('disable', DISABLED_STATE));
    expect(op).toMatchObject({ status: 'Running', phase: 'committing', targetGeneration: 2 });
    expect((await t.stores.desired.get(CCS))?.record).toMatchObject({
      generation: 2,
      lastOperationId: op.id,
    });
    const audit = await t.stores.audit.list({ ccsId: CCS, top: 10 });
    expect(audit.filter((e) => e.operationId === op.id)).toHaveLength(1);
    t.clock.t += STUCK_MS + 1;
    expect(await t.engine.advance(op.id)).toMatchObject({ status: 'Running', phase: 'apply' });
    expect(t.transitions().at(-1)).toEqual(['start-commit', 'commit-taken-over', 'committed']);
    // Sent again to every host by the takeover (the first fan-out sent what it could).
    const applies = t.bus.of('apply').filter((c) => c.generation === 2);
    expect(applies.map((c) => c.host).sort()).toEqual(['web-01', 'web-01', 'web-02', 'web-02']);
  });
});

describe('duplicates and strays', () => {
  it('records a result on the host row, keeps the other step, and a duplicate never overwrites it', async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('\\\\files\\ccs')));
    await t.engine.recordHostResult(op.id, 'web-01', 'preflight', 'failed', error);
    expect(await t.stores.operations.host(op.id, 'web-01')).toMatchObject({
      preflight: 'failed',
      apply: 'pending',
      error,
    });
    await t.engine.recordHostResult(op.id, 'web-01', 'preflight', 'superseded', null);
    expect(await t.stores.operations.host(op.id, 'web-01')).toMatchObject({ preflight: 'failed', error });
    await t.engine.recordHostResult(op.id, 'WEB-01', 'apply', 'succeeded', null);
    expect(await t.stores.operations.host(op.id, 'web-01')).toMatchObject({
      preflight: 'failed',
      apply: 'succeeded',
      error,
    });
  });

  it('gives a host that was not targeted a row of its own, and an unknown operation none', async () => {
    const t = setup(['web-01']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('\\\\files\\ccs')));
    await t.engine.recordHostResult(op.id, 'web-09', 'apply', 'succeeded', null);
    expect(await t.stores.operations.host(op.id, 'web-09')).toMatchObject({
      preflight: 'skipped',
      apply: 'succeeded',
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    await t.engine.recordHostResult(unknown, 'web-01', 'preflight', 'succeeded', null);
    expect(await t.stores.operations.host(unknown, 'web-01')).toBeNull();
    expect(await t.engine.advance(unknown)).toBeNull();
  });

  it('leaves an ended operation as it ended when late and duplicate reports arrive', async () => {
    const t = await applying(['web-01']);
    await t.report(t.op, 'web-01', 'apply', 'succeeded');
    const ended = (await t.stores.operations.get(t.op.id))!;
    await t.report(t.op, 'web-01', 'apply', 'superseded');
    await t.report(t.op, 'web-01', 'preflight', 'failed');
    expect((await t.stores.operations.get(t.op.id))!.record).toEqual(ended.record);
    expect((await t.stores.operations.host(t.op.id, 'web-01'))?.preflight).toBe('succeeded');
    expect(t.bus.of('apply')).toHaveLength(1);
  });
});

describe('a finished operation leaves no host step pending (soak seed 1)', () => {
  const steps = async (t: ReturnType<typeof setup>, id: string) =>
    (await t.stores.operations.hosts(id)).map((r) => [r.host, r.preflight, r.apply]);

  it('skips the apply of every host, and the preflight of hosts not heard from, when one failed its preflight', async () => {
    const t = setup(['web-01', 'web-02', 'web-03']);
    await t.ready;
    const op = await t.engine.start(await t.change('update', enabled('C:\\a')));
    await t.report(op, 'web-01', 'preflight', 'succeeded');
    expect(await t.report(op, 'web-02', 'preflight', 'failed')).toMatchObject({ status: 'Failed' });
    expect(await steps(t, op.id)).toEqual([
      ['web-01', 'succeeded', 'skipped'],
      ['web-02', 'failed', 'skipped'],
      ['web-03', 'skipped', 'skipped'],
    ]);
    // web-03's answer after the operation ended changes nothing, and is no warning either.
    await t.report(op, 'web-03', 'preflight', 'failed');
    expect((await t.stores.operations.host(op.id, 'web-03'))?.preflight).toBe('skipped');
    expect(t.lines.filter((l) => String(l.msg).includes('late preflight'))).toEqual([]);
  });

  it('marks a host silent until the deadline unreachable, and one that got there by another command succeeded', async () => {
    const t = await applying(['web-01', 'web-02']);
    t.clock.t += DEADLINE_MS + 1;
    expect(await t.engine.advance(t.op.id)).toMatchObject({ status: 'Failed' });
    expect(await steps(t, t.op.id)).toEqual([
      ['web-01', 'succeeded', 'unreachable'],
      ['web-02', 'succeeded', 'unreachable'],
    ]);
    const next = await applying(['web-01']);
    await next.enrol('web-01', next.op.targetGeneration + 1); // a later change's apply, say
    expect(await next.engine.advance(next.op.id)).toMatchObject({ status: 'Succeeded' });
    expect(await steps(next, next.op.id)).toEqual([['web-01', 'succeeded', 'succeeded']]);
  });
});

describe('takeovers of a slow fan-out', () => {
  it('keeps its claim, so an advance elsewhere after stuckCommitMs does not send everything again', async () => {
    const t = setup();
    const hosts = Array.from({ length: 1000 }, (_, i) => `web-${String(i).padStart(4, '0')}`);
    await Promise.all(hosts.map((h) => t.enrol(h)));
    // Another process on the same stores, advancing 7 s into a 10 s fan-out (stuck after 5 s).
    const otherBus = new RecordingBus();
    const other = new OperationEngine(
      t.stores,
      otherBus,
      t.clock,
      { info() {}, warn() {}, error() {} },
      {
        preflightTimeoutMs: PREFLIGHT_MS,
        operationTimeoutMs: DEADLINE_MS,
        stuckCommitMs: STUCK_MS,
      },
    );
    let advanced = false;
    t.bus.onSend = async (sent) => {
      t.clock.t += 10;
      const id = t.bus.of('apply')[0]?.operationId;
      if (sent < 700 || advanced || !id) return;
      advanced = true;
      await other.advance(id);
    };
    const op = await t.engine.start(await t.change('disable', DISABLED_STATE));
    expect(advanced).toBe(true);
    expect(op).toMatchObject({ status: 'Running', phase: 'apply' });
    expect(t.bus.sent).toHaveLength(1000);
    expect(otherBus.sent).toHaveLength(0);
  });

  it('stops when its claim was taken over anyway, leaving the rest to the new owner', async () => {
    const t = setup();
    const hosts = Array.from({ length: 300 }, (_, i) => `web-${String(i).padStart(3, '0')}`);
    await Promise.all(hosts.map((h) => t.enrol(h)));
    let stolen = false;
    t.bus.onSend = async (sent) => {
      const id = t.bus.of('apply')[0]?.operationId;
      if (sent !== 10 || !id) return;
      // Time passes; someone else claims the committing operation (its write wins the ETag race).
      t.clock.t += STUCK_MS;
      const loaded = (await t.stores.operations.get(id))!;
      const claim = { ...loaded.record, updatedAt: t.clock.now().toISOString() };
      stolen = (await t.stores.operations.save(claim, loaded.etag)) !== null;
    };
    const op = await t.engine.start(await t.change('disable', DISABLED_STATE));
    expect(stolen).toBe(true);
    expect(op.phase).toBe('committing');
    expect(t.bus.sent.length).toBeLessThan(hosts.length);
  });
});
