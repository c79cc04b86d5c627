import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { createStorageClients } from '../../shared/adapters/storage.js';
import { TableRepositories } from '../../shared/adapters/table-repositories.js';
import { OperationEngine } from '../../shared/services/operation-engine.js';
import { DISABLED_STATE, type Command, type DesiredState } from '../../shared/messages.js';
import type { Clock, CommandBus } from '../../shared/ports.js';
import { silentLogger } from '../../shared/log.js';

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
    const op = await e.start({
      ccsId,
      kind: 'disable',
      proposed: DISABLED_STATE,
      changedFields: ['enabled'],
      base: null,
      requestedBy: 't',
    });
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
