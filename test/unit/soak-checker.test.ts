/**
 * The soak checker on hand-built histories: one run that keeps every invariant, and for each
 * invariant at least one change to it that the checker must catch (so every check can fail).
 */
import { describe, expect, it } from 'vitest';
import { checkHistory, formatViolations } from '../soak/checker.js';
import { HistoryRecorder, type History, type HistoryEvent } from '../soak/history.js';

const SECRET = 'Canary-Pa55-7f3a9!';
const PATH = '\\\\fileserver\\ccs';
const USER = 'CONTOSO\\ccs-reader';
const HOSTS = ['web-01', 'web-02'];

/**
 * A run on two hosts: enable (op-1, generation 1) succeeds; a PATCH with a wrong private-key
 * password (op-2, generation 2) fails preflight on web-02 and changes nothing; a Key Vault
 * outage answers one request 503 with Retry-After; web-01 is killed and restarted meanwhile.
 */
function passingRun(): History {
  let clock = 0;
  const r = new HistoryRecorder(4242, () => (clock += 100));
  const enabled = { enabled: true, path: PATH, username: USER };
  const sendToEveryHost = (type: 'preflight' | 'apply', operationId: string, generation: number): void => {
    for (const host of HOSTS) {
      r.record({ kind: 'command', ccsId: 'demo', host, type, operationId, generation, delivery: 'sent' });
    }
  };
  const everyHostAt = (generation: number): void => {
    for (const host of HOSTS) {
      r.record({
        kind: 'host-state',
        ccsId: 'demo',
        host,
        appliedGeneration: generation,
        actual: enabled,
        lastError: null,
      });
    }
  };
  r.record({
    kind: 'request',
    requestId: 'r1',
    caller: 'ops',
    method: 'POST',
    path: '/api/webserver/centralized-certificates/demo',
    ifMatch: null,
    body: { path: PATH, identity: { username: USER, password: '{HIDDEN}' } },
  });
  r.record({
    kind: 'response',
    requestId: 'r1',
    status: 202,
    retryAfter: null,
    operationId: 'op-1',
    body: {},
  });
  r.record({
    kind: 'audit',
    ccsId: 'demo',
    operationId: 'op-1',
    changedFields: ['path', 'identity.username', 'identity.password'],
  });
  sendToEveryHost('preflight', 'op-1', 1);
  r.record({ kind: 'fault', faultId: 'f1', fault: 'agent-kill', target: 'web-01', edge: 'start' });
  r.record({ kind: 'fault', faultId: 'f1', fault: 'agent-kill', target: 'web-01', edge: 'end' });
  for (const host of HOSTS) {
    r.record({
      kind: 'report',
      ccsId: 'demo',
      host,
      type: 'result',
      operationId: 'op-1',
      phase: 'preflight',
      generation: 1,
      outcome: 'succeeded',
      appliedGeneration: 0,
    });
  }
  sendToEveryHost('apply', 'op-1', 1);
  everyHostAt(1);
  r.record({
    kind: 'operation',
    operationId: 'op-1',
    ccsId: 'demo',
    opKind: 'enable',
    status: 'Succeeded',
    targetGeneration: 1,
    hosts: HOSTS.map((host) => ({ host, preflight: 'succeeded', apply: 'succeeded' })),
  });

  r.record({
    kind: 'request',
    requestId: 'r2',
    caller: 'ops',
    method: 'PATCH',
    path: '/api/webserver/centralized-certificates/demo',
    ifMatch: '"1"',
    body: { private_key_password: '{HIDDEN}' },
  });
  r.record({
    kind: 'response',
    requestId: 'r2',
    status: 202,
    retryAfter: null,
    operationId: 'op-2',
    body: {},
  });
  r.record({ kind: 'audit', ccsId: 'demo', operationId: 'op-2', changedFields: ['private_key_password'] });
  sendToEveryHost('preflight', 'op-2', 2);
  r.record({
    kind: 'report',
    ccsId: 'demo',
    host: 'web-02',
    type: 'result',
    operationId: 'op-2',
    phase: 'preflight',
    generation: 2,
    outcome: 'failed',
    appliedGeneration: 1,
  });
  r.record({
    kind: 'operation',
    operationId: 'op-2',
    ccsId: 'demo',
    opKind: 'update',
    status: 'Failed',
    targetGeneration: 2,
    hosts: [
      { host: 'web-01', preflight: 'succeeded', apply: 'skipped' },
      { host: 'web-02', preflight: 'failed', apply: 'skipped' },
    ],
  });

  r.record({ kind: 'fault', faultId: 'f2', fault: 'keyvault-outage', target: 'keyvault', edge: 'start' });
  r.record({
    kind: 'request',
    requestId: 'r3',
    caller: 'ops',
    method: 'PATCH',
    path: '/api/webserver/centralized-certificates/demo',
    ifMatch: null,
    body: { identity: { password: '{HIDDEN}' } },
  });
  r.record({
    kind: 'response',
    requestId: 'r3',
    status: 503,
    retryAfter: '2',
    operationId: null,
    body: { title: 'Service unavailable' },
  });
  r.record({ kind: 'fault', faultId: 'f2', fault: 'keyvault-outage', target: 'keyvault', edge: 'end' });
  r.record({ kind: 'log', source: 'agent:web-01', text: 'preflight failed: InvalidPrivateKeyPassword' });

  r.record({ kind: 'settled' });
  r.record({ kind: 'desired', ccsId: 'demo', generation: 1, desired: enabled });
  everyHostAt(1);
  r.record({
    kind: 'dump',
    source: 'table:ccshosts',
    text: JSON.stringify({ host: 'web-01', appliedGeneration: 1 }),
  });
  return r.history();
}

/** The passing run with its events changed by `edit` (the events keep their seq and time). */
function edited(edit: (events: HistoryEvent[]) => HistoryEvent[]): History {
  const run = passingRun();
  const events = edit(run.events.map((e) => ({ ...e }))).map((e, seq) => ({ ...e, seq }));
  return { seed: run.seed, events };
}

const replace =
  (match: (e: HistoryEvent) => boolean, change: (e: HistoryEvent) => HistoryEvent) =>
  (events: HistoryEvent[]) =>
    events.map((e) => (match(e) ? change(e) : e));

const isOperation = (id: string) => (e: HistoryEvent) => e.kind === 'operation' && e.operationId === id;
/** The host's state as observed after the run settled. */
const SETTLED_AT = passingRun().events.findIndex((e) => e.kind === 'settled');
const isFinalState = (host: string) => (e: HistoryEvent) =>
  e.kind === 'host-state' && e.host === host && e.seq > SETTLED_AT;

function violated(history: History): number[] {
  return [...new Set(checkHistory(history, { canaries: [SECRET] }).violations.map((v) => v.invariant))];
}

describe('the soak checker', () => {
  it('finds nothing wrong with a run that keeps every invariant', () => {
    const run = passingRun();
    const result = checkHistory(run, { canaries: [SECRET] });
    expect(result.violations).toEqual([]);
    expect(formatViolations(run, result)).toBe('soak seed 4242: 0 invariant violations');
  });

  const cases: [number, string, History][] = [
    [
      1,
      'an operation never finishes',
      edited(replace(isOperation('op-1'), (e) => ({ ...e, status: 'Running' }) as HistoryEvent)),
    ],
    [
      1,
      'a finished operation leaves a host pending',
      edited(
        replace(
          isOperation('op-2'),
          (e) =>
            ({ ...e, hosts: [{ host: 'web-01', preflight: 'pending', apply: 'skipped' }] }) as HistoryEvent,
        ),
      ),
    ],
    [
      1,
      'a host ends behind the desired state without saying why',
      edited(
        replace(
          isFinalState('web-02'),
          (e) =>
            ({
              ...e,
              appliedGeneration: 0,
              actual: { enabled: false, path: null, username: null },
            }) as HistoryEvent,
        ),
      ),
    ],
    [
      2,
      'an apply is sent for an operation that failed preflight',
      edited((events) => [
        ...events,
        {
          kind: 'command',
          ccsId: 'demo',
          host: 'web-01',
          type: 'apply',
          operationId: 'op-2',
          generation: 2,
          delivery: 'sent',
          seq: 0,
          at: 99_000,
        },
      ]),
    ],
    [
      2,
      'a host shows the generation of a failed preflight',
      edited((events) => [
        ...events,
        {
          kind: 'host-state',
          ccsId: 'demo',
          host: 'web-01',
          appliedGeneration: 2,
          actual: { enabled: true, path: PATH, username: USER },
          lastError: null,
          seq: 0,
          at: 99_000,
        },
      ]),
    ],
    [
      3,
      "a host's applied generation goes back",
      edited((events) => [
        ...events,
        {
          kind: 'host-state',
          ccsId: 'demo',
          host: 'web-01',
          appliedGeneration: 0,
          actual: { enabled: false, path: null, username: null },
          lastError: { code: 'x', detail: 'y' },
          seq: 0,
          at: 99_000,
        },
      ]),
    ],
    [
      4,
      'an accepted request has no operation observed',
      edited((events) => events.filter((e) => !isOperation('op-2')(e))),
    ],
    [
      4,
      'two accepted requests share one operation',
      edited(
        replace(
          (e) => e.kind === 'response' && e.requestId === 'r2',
          (e) => ({ ...e, operationId: 'op-1' }) as HistoryEvent,
        ),
      ),
    ],
    [
      4,
      'a succeeded operation was never seen applied on one host',
      edited((events) => events.filter((e) => !(e.kind === 'host-state' && e.host === 'web-02'))),
    ],
    [
      5,
      'a 500',
      edited(
        replace(
          (e) => e.kind === 'response' && e.requestId === 'r3',
          (e) => ({ ...e, status: 500 }) as HistoryEvent,
        ),
      ),
    ],
    [
      5,
      'a 503 without Retry-After',
      edited(
        replace(
          (e) => e.kind === 'response' && e.requestId === 'r3',
          (e) => ({ ...e, retryAfter: null }) as HistoryEvent,
        ),
      ),
    ],
    [
      5,
      'a 503 outside any injected outage',
      edited((events) => events.filter((e) => !(e.kind === 'fault' && e.faultId === 'f2'))),
    ],
    [
      6,
      'a secret in a log line',
      edited(
        replace(
          (e) => e.kind === 'log',
          (e) => ({ ...e, text: `password=${SECRET}` }) as HistoryEvent,
        ),
      ),
    ],
    [
      6,
      'a secret base64-encoded in a queue dump',
      edited(
        replace(
          (e) => e.kind === 'dump',
          (e) => ({ ...e, text: Buffer.from(`{"p":"${SECRET}"}`).toString('base64') }) as HistoryEvent,
        ),
      ),
    ],
    [
      6,
      'a secret in a request body',
      edited(
        replace(
          (e) => e.kind === 'request' && e.requestId === 'r2',
          (e) => ({ ...e, body: { private_key_password: SECRET } }) as HistoryEvent,
        ),
      ),
    ],
    [
      7,
      'an accepted change without an audit entry',
      edited((events) => events.filter((e) => !(e.kind === 'audit' && e.operationId === 'op-2'))),
    ],
    [
      7,
      'an accepted change with two audit entries',
      edited((events) => [
        ...events,
        { kind: 'audit', ccsId: 'demo', operationId: 'op-1', changedFields: ['path'], seq: 0, at: 99_000 },
      ]),
    ],
    [
      7,
      'an audit entry for a refused request',
      edited((events) => [
        ...events,
        { kind: 'audit', ccsId: 'demo', operationId: 'op-9', changedFields: ['path'], seq: 0, at: 99_000 },
      ]),
    ],
  ];

  it.each(cases)('invariant %i catches %s', (invariant, _what, history) => {
    expect(violated(history)).toContain(invariant);
  });

  it('does not count a host marked unreachable that refused the committed change at its apply (seed 2)', () => {
    /** op-3 committed without web-02 (silent at the deadline); `preflight` is what its row ends with. */
    const committedWithout = (preflight: 'unreachable' | 'failed', unreachableSeen: boolean) =>
      edited((events) => {
        const at = 99_000;
        const op = (step: 'unreachable' | 'failed', status: 'Running' | 'Failed'): HistoryEvent => ({
          kind: 'operation',
          operationId: 'op-3',
          ccsId: 'demo',
          opKind: 'update',
          status,
          targetGeneration: 3,
          hosts: [
            { host: 'web-01', preflight: 'succeeded', apply: status === 'Failed' ? 'succeeded' : 'pending' },
            { host: 'web-02', preflight: step, apply: status === 'Failed' ? 'failed' : 'pending' },
          ],
          seq: 0,
          at,
        });
        const apply: HistoryEvent = {
          kind: 'command',
          ccsId: 'demo',
          host: 'web-01',
          type: 'apply',
          operationId: 'op-3',
          generation: 3,
          delivery: 'sent',
          seq: 0,
          at,
        };
        const failure: HistoryEvent = {
          kind: 'report',
          ccsId: 'demo',
          host: 'web-02',
          type: 'result',
          operationId: 'op-3',
          phase: 'apply',
          generation: 3,
          outcome: 'failed',
          appliedGeneration: 1,
          seq: 0,
          at,
        };
        const seen = unreachableSeen ? [op('unreachable', 'Running')] : [];
        return [...events, ...seen, apply, failure, op(preflight, 'Failed')];
      });
    expect(violated(committedWithout('unreachable', true))).toEqual([]);
    expect(violated(committedWithout('unreachable', false))).toEqual([]);
    // A preflight failure on the record of a change that sent apply is caught, however late it
    // came and whether or not the mark was seen: the API never writes one over `unreachable`.
    expect(violated(committedWithout('failed', true))).toEqual([2]);
    expect(violated(committedWithout('failed', false))).toEqual([2]);
  });

  it('every invariant has a history that violates it', () => {
    expect(new Set(cases.map(([invariant]) => invariant))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
  });

  it('prints the seed, the violation and the window of history around it', () => {
    const history = edited(
      replace(
        (e) => e.kind === 'response' && e.requestId === 'r3',
        (e) => ({ ...e, retryAfter: null }) as HistoryEvent,
      ),
    );
    const report = formatViolations(history, checkHistory(history, { canaries: [SECRET] }));
    const lines = report.split('\n');
    expect(lines[0]).toBe('soak seed 4242: 1 invariant violation(s)');
    expect(report).toContain(
      'invariant 5 (no 5xx but 503 with Retry-After during injected outages): 503 without Retry-After for request r3',
    );
    // The response is marked; its request and the outage that was open are in the window…
    expect(lines.some((l) => l.startsWith('> #') && l.includes(' response ') && l.includes('"r3"'))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes(' request ') && l.includes('"r3"'))).toBe(true);
    expect(lines.some((l) => l.includes(' fault ') && l.includes('"keyvault-outage"'))).toBe(true);
    // …and the first operation, long before, is not.
    expect(lines.some((l) => l.includes('"op-1"'))).toBe(false);
    expect(lines.at(-1)).toBe('reproduce: npm run soak -- --seed 4242');
  });
});
