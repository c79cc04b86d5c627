/**
 * Hostile input, property-based: thousands of generated requests against the real API (local
 * host, real Azurite, the local Key Vault through the real SDK), seeded so every run sends the
 * same requests (override with CCS_FUZZ_SEED to explore; a failure prints the seed and path).
 *
 * 1. Rejected requests: each carries exactly one defect, so its answer is known in advance —
 *    status and the `name` of the field at fault — and it must change nothing: the Key Vault's
 *    write counters are compared around every request, and every table entity (with its ETag),
 *    queue and vault counter around every write request.
 * 2. Chaos: anything at all (valid or not, any verb, path, header and body). No 5xx, ever; every
 *    error is IIS-shaped; an error names its field; a refused write changes nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK_ALLOWED_LOCATIONS } from '../fixtures/path-attacks.js';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';
import {
  chaosRequest,
  rejectedRequest,
  VALID_PASSWORD,
  VALID_PATH,
  VALID_USERNAME,
  type HostileRequest,
} from './support/hostile.js';
import { recordFigures, Tally } from './support/results.js';
import { diffState, StateProbe, vaultWrites, type StateSnapshot } from './support/state.js';

const SEED = Number(process.env.CCS_FUZZ_SEED ?? 20_260_601);
const REJECTED_RUNS = Number(process.env.CCS_FUZZ_RUNS ?? 1000);
const CHAOS_RUNS = Number(process.env.CCS_FUZZ_CHAOS_RUNS ?? 300);
const IDS = { enabled: 'fz-enabled', fresh: 'fz-fresh' };
const CHAOS_IDS = ['fz-chaos-a', 'fz-chaos-b', IDS.enabled];
/** Refused requests between two full state snapshots (the vault is checked around each one). */
const SNAPSHOT_EVERY = 20;

let api: ApiHarness;
let probe: StateProbe;
const tally = new Tally();
const statuses = new Tally();

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  ms: number;
}

async function send(request: HostileRequest): Promise<Answer> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.auth !== 'none') {
    headers['Access-Token'] = `Bearer ${request.auth === 'write' ? api.writeToken : api.readToken}`;
  }
  const started = performance.now();
  const res = await fetch(`${api.url}${request.path}`, {
    method: request.method,
    headers,
    body: request.body,
  });
  const text = await res.text();
  statuses.add(String(res.status));
  tally.add('requests');
  const ms = performance.now() - started;
  if (process.env.FUZZ_DEBUG)
    console.log('SLOW', Math.round(ms), request.kind, request.method, request.path.slice(0, 80), res.status);
  return { status: res.status, text, headers: res.headers, ms };
}

const WRITES = new Set(['POST', 'PATCH', 'DELETE', 'PUT']);

/** The error body as the API promises it: IIS-shaped, status echoed, and a stable code. */
function checkErrorShape(request: HostileRequest, answer: Answer): Record<string, unknown> | null {
  if (request.method === 'HEAD') return null;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    throw new Error(`${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}`);
  }
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.status).toBe(answer.status);
  const routed = answer.headers.get('x-ms-error-code') !== null;
  if (routed) {
    // Every error from a handler names what was wrong.
    expect(typeof body.name, `no name in ${answer.text}`).toBe('string');
    expect((body.name as string).length).toBeGreaterThan(0);
  } else {
    // Only the host's own "no such route / verb" answers have no handler behind them.
    expect([404, 405]).toContain(answer.status);
  }
  return body;
}

beforeAll(async () => {
  api = await startApiHarness({ env: { CCS_ALLOWED_LOCATIONS: JSON.stringify(ATTACK_ALLOWED_LOCATIONS) } });
  probe = new StateProbe(api.azurite.connectionString, api.vault);
  const res = await api.request('POST', `/webserver/centralized-certificates/${IDS.enabled}`, {
    body: {
      path: VALID_PATH,
      identity: { username: VALID_USERNAME, password: VALID_PASSWORD },
      private_key_password: 'fuzz-key',
    },
    headers: { Prefer: 'wait=5' },
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  recordFigures('api-fuzz', {
    seed: SEED,
    requests: tally.get('requests'),
    rejectedRequests: tally.get('rejected'),
    chaosRequests: tally.get('chaos'),
    stateSnapshotsCompared: tally.get('snapshots'),
    responses5xx: Object.entries(statuses.entries())
      .filter(([s]) => s.startsWith('5'))
      .reduce((n, [, c]) => n + c, 0),
    statuses: JSON.stringify(statuses.entries()),
    defectKinds: Object.keys(tally.entries()).filter((k) => k.startsWith('kind:')).length,
  });
  await api?.close();
});

describe('requests with one defect', () => {
  it(`refuse with the expected status and field, and change nothing (${REJECTED_RUNS} requests, seed ${SEED})`, async () => {
    const initial = await probe.snapshot();
    let runs = 0;
    let window: string[] = [];
    await fc.assert(
      fc.asyncProperty(rejectedRequest(IDS), async ({ request, expect: wanted }) => {
        runs += 1;
        const vaultBefore = vaultWrites(api.vault);
        const answer = await send(request);
        tally.add('rejected');
        tally.add(`kind:${request.kind}`);
        const context = `${request.kind}: ${request.method} ${request.path.slice(0, 120)} → ${answer.status} ${answer.text.slice(0, 300)}`;
        expect(answer.status, context).toBe(wanted.status);
        const body = checkErrorShape(request, answer);
        expect(body?.name, context).toBe(wanted.name);
        expect(vaultWrites(api.vault), context).toEqual(vaultBefore);
        // Every request here is refused, so the state must stay what it was before the first one.
        // Comparing every SNAPSHOT_EVERY requests covers each of them: no write through the API
        // can be undone unseen (ETags change on every write, queue messages get new ids, the
        // vault's write counters only grow).
        window.push(context);
        if (window.length >= SNAPSHOT_EVERY) {
          tally.add('snapshots');
          const diff = diffState(initial, await probe.snapshot());
          expect(diff, `state changed during:\n${window.join('\n')}`).toEqual([]);
          window = [];
        }
      }),
      { seed: SEED, numRuns: REJECTED_RUNS },
    );
    tally.add('snapshots');
    expect(diffState(initial, await probe.snapshot()), window.join('\n')).toEqual([]);
    expect(runs).toBeGreaterThanOrEqual(REJECTED_RUNS);
    // Each defect family was actually exercised.
    const kinds = Object.keys(tally.entries()).filter((k) => k.startsWith('kind:'));
    if (REJECTED_RUNS >= 1000) expect(kinds.length).toBeGreaterThanOrEqual(45);
  }, 300_000);
});

describe('chaos: any request at all', () => {
  it(`never answers 5xx, keeps the error shape and changes nothing when it refuses (${CHAOS_RUNS} requests, seed ${SEED})`, async () => {
    // The state after the last accepted request; refused writes since then must not have moved it.
    let baseline: StateSnapshot | null = null;
    let refusedWrites: string[] = [];
    const verifyRefused = async () => {
      if (baseline === null || refusedWrites.length === 0) return;
      tally.add('snapshots');
      const now = await probe.snapshot();
      expect(diffState(baseline, now), `state changed during:\n${refusedWrites.join('\n')}`).toEqual([]);
      refusedWrites = [];
    };
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(chaosRequest(CHAOS_IDS), async (request) => {
        runs += 1;
        const write = WRITES.has(request.method);
        // This request may be accepted and change the state: settle the refused ones first.
        await verifyRefused();
        if (write && baseline === null) baseline = await probe.snapshot();
        const vaultBefore = vaultWrites(api.vault);
        const answer = await send(request);
        tally.add('chaos');
        const context = `${request.method} ${request.path.slice(0, 120)} ${JSON.stringify(request.headers)} → ${answer.status} ${answer.text.slice(0, 300)}`;
        expect(answer.status, context).toBeLessThan(500);
        if (answer.status >= 400) {
          checkErrorShape(request, answer);
          expect(vaultWrites(api.vault), context).toEqual(vaultBefore);
          if (write) refusedWrites.push(context);
        } else {
          // Accepted: the state may have changed (GETs too: an operation read advances it).
          baseline = null;
          refusedWrites = [];
        }
      }),
      { seed: SEED, numRuns: CHAOS_RUNS, endOnFailure: true },
    );
    await verifyRefused();
    expect(runs).toBe(CHAOS_RUNS);
  }, 300_000);
});
