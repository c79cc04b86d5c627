import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { createStorageClients } from '../../shared/adapters/storage.js';
import { TableRepositories } from '../../shared/adapters/table-repositories.js';
import { OperationEngine } from '../../shared/services/operation-engine.js';
import { DISABLED_STATE, type Command, type DesiredState } from '../../shared/messages.js';
import type { Clock, CommandBus } from '../../shared/ports.js';
import { silentLogger } from '../../shared/log.js';
import { eachLimited } from '../../shared/each-limited.js';

class RecordingBus implements CommandBus {
  sent: Command[] = [];
  ensureHostQueue(): Promise<void> {
    return Promise.resolve();
  }
  send(command: Command): Promise<void> {
    this.sent.push(command);
    return Promise.resolve();
  }
}

class ManualClock implements Clock {
  constructor(public t = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
}

let azurite: AzuriteEndpoints;
let repos: TableRepositories;
let n = 0;
const enabled = (path: string): DesiredState => ({
  enabled: true,
  path,
  username: 'u',
  password: { name: 's', version: 'v1' },
  privateKeyPassword: null,
});

function engine(clock = new ManualClock(), bus = new RecordingBus()) {
  return {
    clock,
    bus,
    engine: new OperationEngine(repos, bus, clock, silentLogger, {
      preflightTimeoutMs: 10_000,
      operationTimeoutMs: 60_000,
      stuckCommitMs: 5_000,
    }),
  };
}

/** A disable of `ccsId` from nothing (no preflight: the hosts apply at once). */
const disableOf = (ccsId: string) => ({
  ccsId,
  kind: 'disable' as const,
  proposed: DISABLED_STATE,
  changedFields: ['enabled'],
  base: null,
  requestedBy: 't',
});

async function enrol(ccsId: string, host: string, appliedGeneration = 0) {
  await repos.upsertHost({
    ccsId,
    host,
    agentVersion: 't',
    backend: 'fake',
    actual: null,
    appliedGeneration,
    lastSeen: '',
    lastError: null,
    lastDriftAt: null,
  });
}

beforeAll(async () => {
  azurite = await startAzuriteInProcess();
  repos = new TableRepositories(createStorageClients({ connectionString: azurite.connectionString }));
});
afterAll(async () => azurite?.close());

describe('generations', () => {
  it('increments the generation by one per committed change', async () => {
    const { engine: e } = engine();
    const ccsId = `g${++n}`;
    const first = await e.start({
      ccsId,
      kind: 'enable',
      proposed: enabled('C:\\a'),
      changedFields: [],
      base: null,
      requestedBy: 't',
    });
    expect(first).toMatchObject({ status: 'Succeeded', targetGeneration: 1 });
    const base = (await repos.getCcs(ccsId))!.record;
    const second = await e.start({
      ccsId,
      kind: 'update',
      proposed: enabled('C:\\b'),
      changedFields: ['path'],
      base,
      requestedBy: 't',
    });
    expect(second.targetGeneration).toBe(2);
    expect((await repos.getCcs(ccsId))!.record).toMatchObject({
      generation: 2,
      desired: { path: 'C:\\b' },
      lastOperationId: second.id,
    });
  });

  it('fails the later of two changes computed from the same generation instead of losing one', async () => {
    const { engine: e } = engine();
    const ccsId = `g${++n}`;
    await e.start({
      ccsId,
      kind: 'enable',
      proposed: enabled('C:\\a'),
      changedFields: [],
      base: null,
      requestedBy: 't',
    });
    const base = (await repos.getCcs(ccsId))!.record;
    const a = await e.start({
      ccsId,
      kind: 'update',
      proposed: enabled('C:\\b'),
      changedFields: ['path'],
      base,
      requestedBy: 't',
    });
    const b = await e.start({
      ccsId,
      kind: 'update',
      proposed: enabled('C:\\c'),
      changedFields: ['path'],
      base,
      requestedBy: 't',
    });
    expect(a.status).toBe('Succeeded');
    expect(b).toMatchObject({ status: 'Failed', error: { code: 'Conflict', status: 409 } });
    expect((await repos.getCcs(ccsId))!.record).toMatchObject({ generation: 2, desired: { path: 'C:\\b' } });
  });

  it('counts a host that applied a newer generation as done (level-triggered)', async () => {
    const { engine: e, bus } = engine();
    const ccsId = `g${++n}`;
    await enrol(ccsId, 'web-01');
    const op = await e.start(disableOf(ccsId));
    expect(op).toMatchObject({ status: 'Running', phase: 'apply' });
    expect(bus.sent.map((c) => c.type)).toEqual(['apply']);
    await enrol(ccsId, 'web-01', 7);
    expect((await e.advance(op.id))?.status).toBe('Succeeded');
  });

  it('ends phase two with HostsDidNotReport at the deadline, keeping the committed state', async () => {
    const { engine: e, clock } = engine();
    const ccsId = `g${++n}`;
    await enrol(ccsId, 'web-01');
    const op = await e.start({
      ccsId,
      kind: 'disable',
      proposed: DISABLED_STATE,
      changedFields: [],
      base: null,
      requestedBy: 't',
    });
    clock.t += 61_000;
    expect(await e.advance(op.id)).toMatchObject({ status: 'Failed', error: { code: 'HostsDidNotReport' } });
    expect((await repos.getCcs(ccsId))!.record.generation).toBe(1);
  });

  it('resumes a commit left half-done by a crash', async () => {
    const { engine: e, clock, bus } = engine();
    const ccsId = `g${++n}`;
    await enrol(ccsId, 'web-01');
    const op = await e.start({
      ccsId,
      kind: 'enable',
      proposed: enabled('C:\\a'),
      changedFields: [],
      base: null,
      requestedBy: 't',
    });
    // Simulate a process that won the race to `committing` and died before committing.
    const loaded = (await repos.getOperation(op.id))!;
    await repos.saveOperation(
      { ...loaded.record, phase: 'committing', updatedAt: clock.now().toISOString() },
      loaded.etag,
    );
    expect((await e.advance(op.id))?.phase).toBe('committing');
    clock.t += 6_000;
    expect((await e.advance(op.id))?.phase).toBe('apply');
    expect((await repos.getCcs(ccsId))!.record.generation).toBe(1);
    expect(bus.sent.filter((c) => c.type === 'apply')).toHaveLength(1);
  });
});

describe('host results', () => {
  async function started() {
    const { engine: e } = engine();
    const ccsId = `r${++n}`;
    await enrol(ccsId, 'web-01');
    const op = await e.start({
      ccsId,
      kind: 'update',
      proposed: enabled('\\\\files\\ccs'),
      changedFields: ['path'],
      base: null,
      requestedBy: 't',
    });
    return { e, op };
  }
  const error = { code: 'PathNotFound', detail: 'gone', name: 'path', status: 400 } as const;

  it('records a result on the host row, keeps the other step, and a duplicate never overwrites it', async () => {
    const { e, op } = await started();
    await e.recordHostResult(op.id, 'web-01', 'preflight', 'failed', error);
    expect(await repos.getOperationHost(op.id, 'web-01')).toMatchObject({
      preflight: 'failed',
      apply: 'pending',
      error,
    });
    await e.recordHostResult(op.id, 'web-01', 'preflight', 'superseded', null);
    expect(await repos.getOperationHost(op.id, 'web-01')).toMatchObject({ preflight: 'failed', error });
    await e.recordHostResult(op.id, 'WEB-01', 'apply', 'succeeded', null);
    expect(await repos.getOperationHost(op.id, 'web-01')).toMatchObject({
      preflight: 'failed',
      apply: 'succeeded',
      error,
    });
  });

  it('gives a host that was not targeted a row of its own, and an unknown operation none', async () => {
    const { e, op } = await started();
    await e.recordHostResult(op.id, 'web-09', 'apply', 'succeeded', null);
    expect(await repos.getOperationHost(op.id, 'web-09')).toMatchObject({
      preflight: 'skipped',
      apply: 'succeeded',
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    await e.recordHostResult(unknown, 'web-01', 'preflight', 'succeeded', null);
    expect(await repos.getOperationHost(unknown, 'web-01')).toBeNull();
  });
});

describe('a slow fan-out', () => {
  /** A bus whose every send takes 10 ms of the shared clock, and that can run a hook. */
  class SlowBus extends RecordingBus {
    onSend?: (sent: number) => Promise<void>;
    constructor(private readonly clock: ManualClock) {
      super();
    }
    override async send(command: Command): Promise<void> {
      await new Promise((resolve) => setImmediate(resolve));
      this.clock.t += 10;
      await super.send(command);
      await this.onSend?.(this.sent.length);
    }
  }

  it('keeps its claim, so a report arriving after stuckCommitMs does not send everything again', async () => {
    const clock = new ManualClock();
    const bus = new SlowBus(clock);
    const { engine: e } = engine(clock, bus);
    const { engine: other, bus: otherBus } = engine(clock);
    const ccsId = `f${++n}`;
    const hosts = Array.from({ length: 1000 }, (_, i) => `web-${String(i).padStart(4, '0')}`);
    await Promise.all(hosts.map((host) => enrol(ccsId, host)));
    // 7 s into a fan-out of 10 s (stuckCommitMs is 5 s), a report advances the operation in
    // another process (the first command names it).
    let advanced = false;
    bus.onSend = async (sent) => {
      const opId = bus.sent[0]?.operationId;
      if (sent < 700 || advanced || !opId) return;
      advanced = true;
      await other.advance(opId);
    };
    const op = await e.start(disableOf(ccsId));
    expect(advanced).toBe(true);
    expect(op).toMatchObject({ status: 'Running', phase: 'apply' });
    expect(bus.sent).toHaveLength(1000);
    expect(otherBus.sent).toHaveLength(0);
  });
});

describe('eachLimited', () => {
  it('runs every item once, at most `limit` at a time, and stops at the first failure', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await eachLimited([...Array(50).keys()], 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(i);
      inFlight--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(most).toBe(4);
    const started: number[] = [];
    await expect(
      eachLimited([...Array(50).keys()], 2, async (i) => {
        started.push(i);
        await Promise.resolve();
        if (i === 3) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(started.length).toBeLessThan(10);
  });
});
