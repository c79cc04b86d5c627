/**
 * The hand-written path-attack corpus (test/fixtures/path-attacks.ts) against the two places
 * that judge a share path:
 *
 * - the API, over HTTP (POST and PATCH): 400 or 403 naming `path`, and nothing stored — not
 *   even a password sent in the same PATCH, since the path is judged before any secret is
 *   written;
 * - the agent's own check (agent/preflight.ts, through the Reconciler as an `apply` command
 *   arriving from the queue would go): `path` refused with the same status, before the share is
 *   touched or a secret fetched, and nothing applied to IIS.
 *
 * The allowed spellings are the positive control: the same code paths accept them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reconciler } from '../../agent/reconcile.js';
import type { StoreAccess } from '../../agent/backends/backend.js';
import { SecretCache } from '../../agent/secrets.js';
import { MemoryStateStore } from '../../agent/state.js';
import { agentLogger } from '../../agent/log.js';
import type { DesiredState } from '../../shared/messages.js';
import { MAX_BODY_BYTES } from '../../functions/http/request-body.js';
import {
  ATTACK_ALLOWED_LOCATIONS,
  ATTACK_HOST_ENV,
  PATH_ALLOWED,
  PATH_ATTACKS,
} from '../fixtures/path-attacks.js';
import { CCS_ID, FakeBackend, FakeSecretStore, command, fakeVerifyPfx } from '../support/agent-fakes.js';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { recordFigures, Tally } from './support/results.js';
import { diffState, StateProbe, vaultWrites } from './support/state.js';

const RESOURCE = '/webserver/centralized-certificates';
const ENABLED = 'pa-enabled';
const FRESH = 'pa-fresh';
const tally = new Tally();

let api: ApiHarness;
let probe: StateProbe;

beforeAll(async () => {
  api = await startApiHarness({ env: { CCS_ALLOWED_LOCATIONS: JSON.stringify(ATTACK_ALLOWED_LOCATIONS) } });
  probe = new StateProbe(api.azurite.connectionString, api.vault);
  const res = await api.request('POST', `${RESOURCE}/${ENABLED}`, {
    body: { path: 'C:\\certs', identity: { username: 'CONTOSO\\svc', password: 'pa-Pa55' } },
    headers: { Prefer: 'wait=5' },
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  recordFigures('path-attacks', {
    corpusSize: PATH_ATTACKS.length,
    allowedSpellings: PATH_ALLOWED.length,
    apiRequests: tally.get('api'),
    agentChecks: tally.get('agent'),
    refusedByApi: tally.get('api-refused'),
    refusedByAgent: tally.get('agent-refused'),
  });
  await api?.close();
});

/** What the API must answer for a path: its size decides first (64 KiB bodies), then the corpus. */
function expected(body: unknown, outcome: 'invalid' | 'forbidden'): { status: number; name: string } {
  if (Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES) return { status: 413, name: 'body' };
  return { status: outcome === 'invalid' ? 400 : 403, name: 'path' };
}

describe('the API refuses every path of the corpus', () => {
  it(`refuses all ${PATH_ATTACKS.length} attacks on POST and PATCH, naming path, storing nothing`, async () => {
    const before = await probe.snapshot();
    const failures: string[] = [];
    for (const attack of PATH_ATTACKS) {
      const requests = [
        {
          method: 'POST',
          path: `${RESOURCE}/${FRESH}`,
          body: {
            path: attack.input,
            identity: { username: 'CONTOSO\\svc', password: 'attack-Pa55' },
            private_key_password: 'attack-key',
          },
        },
        // A new password in the same PATCH must not reach Key Vault when the path is refused.
        {
          method: 'PATCH',
          path: `${RESOURCE}/${ENABLED}`,
          body: { path: attack.input, identity: { password: 'attack-rotated' } },
        },
      ];
      for (const request of requests) {
        const vault = vaultWrites(api.vault);
        const res = await api.request(request.method, request.path, { body: request.body });
        tally.add('api');
        const text = await res.text();
        const want = expected(request.body, attack.expect);
        let name: unknown;
        try {
          name = (JSON.parse(text) as { name?: unknown }).name;
        } catch {
          name = undefined;
        }
        if (res.status !== want.status || name !== want.name) {
          failures.push(`${request.method} ${attack.why}: ${res.status} ${text.slice(0, 160)}`);
        } else {
          tally.add('api-refused');
        }
        if (JSON.stringify(vaultWrites(api.vault)) !== JSON.stringify(vault)) {
          failures.push(`${request.method} ${attack.why}: wrote to Key Vault`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(diffState(before, await probe.snapshot())).toEqual([]);
    const get = await readJson(await api.request('GET', `${RESOURCE}/${ENABLED}`));
    expect(get).toMatchObject({ path: 'C:\\certs', generation: 1 });
  }, 120_000);

  it('accepts the allowed spellings through the same requests, stored in normal form', async () => {
    for (const { input, normalized } of PATH_ALLOWED) {
      const res = await api.request('PATCH', `${RESOURCE}/${ENABLED}`, {
        body: { path: input },
        headers: { Prefer: 'wait=5' },
      });
      tally.add('api');
      expect(res.status, input).toBe(200);
      expect((await readJson(res)).path, input).toBe(normalized);
    }
  }, 60_000);
});

describe("the agent's own check refuses every path of the corpus", () => {
  /** A host where every folder exists and every identity may read: only the path rules can refuse. */
  class OpenHost extends FakeBackend {
    readonly asked: string[] = [];
    override checkStoreAccess(path: string): Promise<StoreAccess> {
      this.asked.push(path);
      return Promise.resolve({ identity: { ok: true, pfx: null }, agent: { ok: true } });
    }
  }

  function agentFor() {
    const backend = new OpenHost();
    const store = new FakeSecretStore();
    const secrets = new SecretCache(store);
    const password = store.put('ccs-farm-a-identity-password', 'agent-Pa55');
    const reconciler = new Reconciler({
      ccsId: CCS_ID,
      backend,
      secrets,
      state: new MemoryStateStore(),
      log: agentLogger(() => {}),
      allowedLocations: ATTACK_ALLOWED_LOCATIONS,
      environment: ATTACK_HOST_ENV,
      verifyPfx: fakeVerifyPfx,
      now: () => new Date(),
    });
    const desired = (path: string): DesiredState => ({
      enabled: true,
      path,
      username: 'CONTOSO\\svc',
      password,
      privateKeyPassword: null,
    });
    return { backend, store, reconciler, desired };
  }

  it(`refuses every attack the host does not allow, before touching the share or Key Vault`, async () => {
    const failures: string[] = [];
    for (const attack of PATH_ATTACKS) {
      const { backend, store, reconciler, desired } = agentFor();
      const outcome = await reconciler.handle(command('apply', 1, desired(attack.input)));
      tally.add('agent');
      const want = attack.agent ?? attack.expect;
      if (want === 'allowed') {
        if (outcome.outcome !== 'succeeded')
          failures.push(`${attack.why}: expected allowed, got ${JSON.stringify(outcome.error)}`);
        continue;
      }
      const status = want === 'invalid' ? 400 : 403;
      if (outcome.outcome !== 'failed' || outcome.error?.name !== 'path' || outcome.error.status !== status) {
        failures.push(`${attack.why}: ${JSON.stringify(outcome)}`);
      } else {
        tally.add('agent-refused');
      }
      if (backend.applied.length > 0) failures.push(`${attack.why}: applied to IIS`);
      if (backend.asked.length > 0) failures.push(`${attack.why}: looked at the share first`);
      if (store.reads.length > 0) failures.push(`${attack.why}: fetched a secret first`);
    }
    expect(failures).toEqual([]);
  });

  it('applies the allowed spellings (expanded with its own environment)', async () => {
    for (const { input } of PATH_ALLOWED) {
      const { backend, reconciler, desired } = agentFor();
      const outcome = await reconciler.handle(command('apply', 1, desired(input)));
      tally.add('agent');
      expect(outcome.outcome, input).toBe('succeeded');
      expect(backend.applied).toHaveLength(1);
    }
  });
});
