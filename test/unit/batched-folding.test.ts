/**
 * Batched report folding (issue 18) on in-memory stores held to Table storage's transaction
 * rules (test/support/memory-stores.ts): a batch of reports folded at once writes each partition
 * in one transaction, reads nothing it already knows, advances its operation once, and a lost
 * race — another API instance wrote a row first — is retried on what is stored, never lost.
 */
import { describe, expect, it } from 'vitest';
import {
  MESSAGE_VERSION,
  type Command,
  type DriftReport,
  type HelloReport,
  type Report,
  type ResultReport,
} from '../../shared/messages.js';
import { enrolmentProof } from '../../shared/enrolment.js';
import type { Clock, CommandBus, PoisonQueue, Stores } from '../../shared/ports.js';
import { signReport, type ReportSigner } from '../../shared/report-signature.js';
import { EnrolmentService } from '../../shared/services/enrolment-service.js';
import { LAST_SEEN_REFRESH_MS } from '../../shared/services/host-rows.js';
import { OperationEngine } from '../../shared/services/operation-engine.js';
import { ReportService } from '../../shared/services/report-service.js';
import { ReportTrust } from '../../shared/services/report-trust.js';
import { memoryStores } from '../support/memory-stores.js';
import { newHostKey } from '../support/fake-host.js';

const CCS = 'farm-b';
const ADMIN = { id: 'access-token:admin' };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

class Bus implements CommandBus {
  sent: Command[] = [];
  ensureHostQueue(): Promise<void> {
    return Promise.resolve();
  }
  send(command: Command): Promise<void> {
    this.sent.push(command);
    return Promise.resolve();
  }
}

/** Counts calls of the named methods of a store, in place. */
function counted<T extends object>(store: T, names: (keyof T & string)[]): Record<string, number> {
  const calls: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const name of names) {
    const original = (store[name] as (...args: unknown[]) => unknown).bind(store);
    (store as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls[name]! += 1;
      return original(...args);
    };
  }
  return calls;
}

/** One API process: its own report service, engine and caches, on shared stores. */
function instance(stores: Stores, clock: Clock, bus: Bus) {
  const poison: PoisonQueue = { add: () => Promise.resolve() };
  const engine = new OperationEngine(stores, bus, clock, quiet, {
    preflightTimeoutMs: 10_000,
    operationTimeoutMs: 60_000,
  });
  const enrolment = new EnrolmentService(stores, clock, quiet, {
    foldHello: (hello) => reports.foldHello(hello),
  });
  const reports: ReportService = new ReportService(
    stores,
    bus,
    poison,
    engine,
    clock,
    quiet,
    new ReportTrust(enrolment, poison, quiet),
  );
  const deliver = (report: Report, key: ReportSigner) =>
    reports.handle(JSON.parse(JSON.stringify(signReport(report, key))) as unknown);
  return { engine, enrolment, reports, deliver };
}

function setup() {
  const stores = memoryStores();
  const clock: Clock & { t: number } = {
    t: Date.parse('2026-06-01T12:00:00Z'),
    now() {
      return new Date(this.t);
    },
  };
  const bus = new Bus();
  return { stores, clock, bus, a: instance(stores, clock, bus), b: instance(stores, clock, bus) };
}

const hello = (host: string, extra: Partial<HelloReport> = {}): HelloReport => ({
  v: MESSAGE_VERSION,
  type: 'hello',
  ccsId: CCS,
  host,
  agentVersion: '1.0',
  backend: 'simulated',
  actual: { enabled: false, path: null, username: null },
  appliedGeneration: 0,
  at: '2026-06-01T12:00:00.000Z',
  ...extra,
});

const result = (host: string, extra: Partial<ResultReport> = {}): ResultReport => ({
  v: MESSAGE_VERSION,
  type: 'result',
  ccsId: CCS,
  host,
  operationId: null,
  phase: 'preflight',
  generation: 1,
  outcome: 'succeeded',
  error: null,
  actual: { enabled: false, path: null, username: null },
  appliedGeneration: 0,
  at: '2026-06-01T12:00:00.000Z',
  ...extra,
});

/** Hosts enrolled with codes through `via`; their keys by name. */
async function enrol(t: ReturnType<typeof setup>, hosts: string[], via = t.a) {
  const keys = new Map<string, ReportSigner>();
  for (const host of hosts) {
    const key = newHostKey();
    const { code } = await via.enrolment.createCode(CCS, 60, ADMIN);
    const proof = enrolmentProof(code, CCS, host, key.publicKey);
    expect(await via.deliver(hello(host, { hostKey: key.publicKey, enrolmentProof: proof }), key)).toBe(
      'processed',
    );
    keys.set(host, key);
  }
  return keys;
}

/** A change every enrolled host preflights (started through instance `a`). */
const startChange = (t: ReturnType<typeof setup>) =>
  t.a.engine.start({
    ccsId: CCS,
    kind: 'update',
    proposed: { enabled: false, path: null, username: null, password: null, privateKeyPassword: null },
    changedFields: ['path'],
    base: null,
    requestedBy: 'test',
  });

const HOSTS = ['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'web-06'];

describe('batched report folding', () => {
  it('folds a batch of results with one transaction per partition, no reads it can spare, one advance', async () => {
    const t = setup();
    const keys = await enrol(t, HOSTS);
    const op = await startChange(t);
    const hostCalls = counted(t.stores.hosts, ['read', 'writeAll', 'put', 'get']);
    const stepCalls = counted(t.stores.operations, [
      'setHostSteps',
      'setHostStep',
      'get',
      'getHost',
      'saveHost',
      'getHosts',
      'saveHosts',
    ]);
    const keyCalls = counted(t.stores.enrolment, ['getHostKey']);
    const advance = counted(t.a.engine, ['advance']);
    const preflights = HOSTS.map((h) => result(h, { operationId: op.id, generation: op.targetGeneration }));
    const outcomes = await Promise.all(preflights.map((r) => t.a.deliver(r, keys.get(r.host)!)));
    expect(outcomes.every((o) => o === 'processed')).toBe(true);
    // The keys were read at enrolment; a passed preflight changes no host row but lastSeen.
    expect(keyCalls.getHostKey).toBe(0);
    // (The advance's apply progress reads a host: the engine's, not the fold's.)
    expect(hostCalls).toMatchObject({ read: 0, writeAll: 0, put: 0 });
    // Preflight results are written only over `pending` (a decision once made stands), as one
    // transaction of conditional replaces on the rows read with one query, never blind merges.
    expect(stepCalls).toMatchObject({ setHostSteps: 0, setHostStep: 0, getHost: 0, saveHost: 0 });
    expect(stepCalls).toMatchObject({ getHosts: 1, saveHosts: 1 });
    expect(advance.advance).toBe(1);
    const rows = await t.stores.operations.hosts(op.id);
    expect(rows.every((r) => r.preflight === 'succeeded')).toBe(true);
    // The advance saw every result: the change committed and applies.
    expect((await t.stores.operations.get(op.id))!.record.phase).toBe('apply');

    const applies = HOSTS.map((h) =>
      result(h, {
        operationId: op.id,
        phase: 'apply',
        generation: op.targetGeneration,
        appliedGeneration: op.targetGeneration,
      }),
    );
    await Promise.all(applies.map((r) => t.a.deliver(r, keys.get(r.host)!)));
    // The host rows change (appliedGeneration): one transaction for the six of them.
    expect(hostCalls).toMatchObject({ read: 0, writeAll: 1, put: 0 });
    expect(stepCalls.setHostSteps).toBe(1);
    expect((await t.stores.hosts.list(CCS)).map((h) => h.appliedGeneration)).toEqual(
      HOSTS.map(() => op.targetGeneration),
    );
    expect((await t.stores.operations.get(op.id))!.record.status).toBe('Succeeded');
  });

  it('decides preflight results again on the stored rows when the engine closed them meanwhile', async () => {
    const t = setup();
    const keys = await enrol(t, HOSTS);
    const op = await startChange(t);
    const preflight = (host: string, outcome: 'succeeded' | 'failed' = 'succeeded') =>
      result(host, {
        operationId: op.id,
        generation: op.targetGeneration,
        outcome,
        ...(outcome === 'failed'
          ? { error: { name: 'path', code: 'PathNotFound', detail: 'gone', status: 404 } }
          : {}),
      });
    const calls = counted(t.stores.operations, ['getHosts', 'saveHosts', 'getHost', 'saveHost']);
    const first = HOSTS.slice(0, 3).map((h) => preflight(h));
    await Promise.all(first.map((r) => t.a.deliver(r, keys.get(r.host)!)));
    expect(calls).toEqual({ getHosts: 1, saveHosts: 1, getHost: 0, saveHost: 0 });
    // The deadline passes; the other instance marks the three silent hosts unreachable and
    // commits without them. `a` still remembers their rows as pending.
    t.clock.t += 10_001;
    await t.b.engine.advance(op.id);
    const closed = (await t.stores.operations.hosts(op.id)).filter((r) => r.preflight === 'unreachable');
    expect(closed.map((r) => r.host)).toEqual(HOSTS.slice(3));
    const late = [preflight('web-04', 'failed'), preflight('web-05')];
    await Promise.all(late.map((r) => t.a.deliver(r, keys.get(r.host)!)));
    // `a`: one transaction that lost at web-04's stale ETag, one query, nothing written (late).
    // (The point reads and writes are `b`'s engine marking the three silent hosts.)
    expect(calls).toEqual({ getHosts: 2, saveHosts: 2, getHost: 3, saveHost: 3 });
    const rows = await t.stores.operations.hosts(op.id);
    expect(rows.map((r) => [r.host, r.preflight, r.error])).toEqual([
      ...HOSTS.slice(0, 3).map((h) => [h, 'succeeded', null]),
      ...HOSTS.slice(3).map((h) => [h, 'unreachable', null]),
    ]);
    // A result of a host it knows as decided is refused only on a fresh read.
    await t.a.deliver(preflight('web-06'), keys.get('web-06')!);
    expect((await t.stores.operations.host(op.id, 'web-06'))?.preflight).toBe('unreachable');
  });

  it('retries a lost race on the stored row: appliedGeneration never goes back', async () => {
    const t = setup();
    const keys = await enrol(t, ['web-01', 'web-02']);
    const sign = (r: Report) => keys.get(r.host)!;
    // Another instance folds an apply of generation 5 after `a` last wrote the row.
    const five = result('web-01', { phase: 'apply', generation: 5, appliedGeneration: 5 });
    expect(await t.b.deliver(five, sign(five))).toBe('processed');
    const hostCalls = counted(t.stores.hosts, ['read', 'writeAll']);
    // `a` still holds the row as it wrote it: its write of an older report loses, is retried on
    // what is stored, and keeps 5. The other host of the batch is written with it.
    const actual = { enabled: false, path: null, username: null };
    const drift: DriftReport = {
      v: MESSAGE_VERSION,
      type: 'drift',
      ccsId: CCS,
      host: 'web-01',
      generation: 4,
      found: actual,
      actual,
      repaired: true,
      error: null,
      appliedGeneration: 4,
      at: '2026-06-01T12:00:05.000Z',
    };
    const late: Report[] = [drift, result('web-02', { phase: 'apply', generation: 4, appliedGeneration: 4 })];
    await Promise.all(late.map((r) => t.a.deliver(r, sign(r))));
    expect(hostCalls.writeAll).toBe(2);
    expect(hostCalls.read).toBeGreaterThanOrEqual(1);
    expect((await t.stores.hosts.get(CCS, 'web-01'))!.appliedGeneration).toBe(5);
    expect((await t.stores.hosts.get(CCS, 'web-01'))!.lastDriftAt).toBe(drift.at);
    expect((await t.stores.hosts.get(CCS, 'web-02'))!.appliedGeneration).toBe(4);
  });

  it('answers an unchanged hello without a request, and refreshes lastSeen after its bound', async () => {
    const t = setup();
    const keys = await enrol(t, ['web-01']);
    const key = keys.get('web-01')!;
    const hostCalls = counted(t.stores.hosts, ['read', 'writeAll']);
    const desiredCalls = counted(t.stores.desired, ['get']);
    const keyCalls = counted(t.stores.enrolment, ['getHostKey']);
    const firstSeen = (await t.stores.hosts.get(CCS, 'web-01'))!.lastSeen;
    t.clock.t += 10_000;
    expect(await t.a.deliver(hello('web-01'), key)).toBe('processed');
    expect({ ...hostCalls, ...desiredCalls, ...keyCalls }).toEqual({
      read: 0,
      writeAll: 0,
      get: 0,
      getHostKey: 0,
    });
    expect((await t.stores.hosts.get(CCS, 'web-01'))!.lastSeen).toBe(firstSeen);
    // Past the desired generation's short life: one read, still no write.
    t.clock.t += 5 * 60_000;
    await t.a.deliver(hello('web-01'), key);
    expect({ ...hostCalls, ...desiredCalls }).toEqual({ read: 0, writeAll: 0, get: 1 });
    // Past LAST_SEEN_REFRESH_MS since the stored lastSeen: written.
    t.clock.t += LAST_SEEN_REFRESH_MS - 5 * 60_000;
    await t.a.deliver(hello('web-01'), key);
    expect(hostCalls.writeAll).toBe(1);
    expect((await t.stores.hosts.get(CCS, 'web-01'))!.lastSeen).toBe(t.clock.now().toISOString());
    // Anything else that changed is written at once.
    await t.a.deliver(hello('web-01', { agentVersion: '1.1' }), key);
    expect(hostCalls.writeAll).toBe(2);
    expect((await t.stores.hosts.get(CCS, 'web-01'))!.agentVersion).toBe('1.1');
  });

  it('reads a host key again when a report does not verify under the one it had (re-enrolled elsewhere)', async () => {
    const t = setup();
    const keys = await enrol(t, ['web-01']);
    const old = keys.get('web-01')!;
    const keyCalls = counted(t.stores.enrolment, ['getHostKey']);
    expect(await t.a.deliver(result('web-01'), old)).toBe('processed');
    expect(keyCalls.getHostKey).toBe(0);
    // Rebuilt and re-enrolled with a code through the other instance: `a` has the old key.
    const rebuilt = await enrol(t, ['web-01'], t.b);
    const fresh = rebuilt.get('web-01')!;
    expect(await t.a.deliver(result('web-01'), fresh)).toBe('processed');
    expect(keyCalls.getHostKey).toBeGreaterThan(0);
    // From then on `a` holds the new key: the old one is refused.
    expect(await t.a.deliver(result('web-01'), old)).toBe('refused');
  });

  it('records a result for a host without a row alongside the others (taken out of the transaction)', async () => {
    const t = setup();
    const keys = await enrol(t, ['web-01', 'web-02']);
    const op = await startChange(t);
    // A host that enrolled after the operation started has no row in it.
    const late = await enrol(t, ['web-03']);
    keys.set('web-03', late.get('web-03')!);
    const stepCalls = counted(t.stores.operations, ['setHostSteps', 'putHost']);
    await Promise.all(
      ['web-01', 'web-03', 'web-02'].map((h) =>
        t.a.deliver(
          result(h, {
            operationId: op.id,
            phase: 'apply',
            generation: op.targetGeneration,
            appliedGeneration: op.targetGeneration,
          }),
          keys.get(h)!,
        ),
      ),
    );
    expect(stepCalls.setHostSteps).toBe(2);
    expect(stepCalls.putHost).toBe(1);
    const rows = await t.stores.operations.hosts(op.id);
    expect(rows.map((r) => [r.host, r.apply])).toEqual([
      ['web-01', 'succeeded'],
      ['web-02', 'succeeded'],
      ['web-03', 'succeeded'],
    ]);
  });
});
