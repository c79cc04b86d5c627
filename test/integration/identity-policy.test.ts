/**
 * Identity abuse limits through the API (issue 17, shared/services/identity-policy.ts): a share
 * identity outside the ccs-id's allow-list is refused with 403 before anything is stored, and
 * identity changes beyond the hourly budget of a ccs-id are refused with 429 and Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { ErrorBodySchema } from '../../functions/openapi/response-schemas.js';

const PASSWORD = 'canary-identity-Pa55-51ab';
let api: ApiHarness;

const resource = (id: string) => `/webserver/centralized-certificates/${id}`;
const enableBody = (username: string) => ({
  path: '\\\\fileserver\\ccs',
  identity: { username, password: PASSWORD },
  private_key_password: PASSWORD,
});

beforeAll(async () => {
  api = await startApiHarness({
    env: {
      CCS_SHARE_IDENTITIES: JSON.stringify({
        'fleet-a': ['CONTOSO\\ccs-a'],
        '*': ['CONTOSO\\ccs-reader', 'CONTOSO\\ccs-other'],
      }),
      CCS_IDENTITY_CHANGES_PER_HOUR: '3',
    },
  });
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe('share-identity allow-list', () => {
  it("refuses an identity outside the ccs-id's list with 403 identity.username, storing nothing", async () => {
    const res = await api.request('POST', resource('fleet-a'), { body: enableBody('CONTOSO\\ccs-reader') });
    expect(res.status).toBe(403);
    const body = ErrorBodySchema.parse(await readJson(res));
    expect(body).toMatchObject({ name: 'identity.username' });
    expect(res.headers.get('x-ms-error-code')).toBe('IdentityNotAllowed');
    expect(await api.stores.desired.get('fleet-a')).toBeNull();
    expect(await api.stores.audit.list({ ccsId: 'fleet-a', top: 10 })).toEqual([]);
  });

  it("accepts the ccs-id's own identity (case-insensitively), and the '*' list for other ccs-ids", async () => {
    expect(
      (await api.request('POST', resource('fleet-a'), { body: enableBody('contoso\\CCS-A') })).status,
    ).toBe(202);
    const other = await api.request('POST', resource('fleet-z'), { body: enableBody('CONTOSO\\ccs-reader') });
    expect(other.status).toBe(202);
    const refused = await api.request('POST', resource('fleet-y'), { body: enableBody('CONTOSO\\ccs-a') });
    expect(refused.status).toBe(403);
  });

  it('checks a PATCH that changes the username', async () => {
    const res = await api.request('PATCH', resource('fleet-z'), {
      body: { identity: { username: 'CONTOSO\\Administrator', password: PASSWORD } },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-ms-error-code')).toBe('IdentityNotAllowed');
  });
});

describe('identity-change rate limit', () => {
  it('refuses identity changes of one ccs-id beyond the hourly budget with 429 and Retry-After', async () => {
    const id = 'rate';
    // Enable (1), then change the password (2) and the username (3): the budget of 3.
    expect(
      (await api.request('POST', resource(id), { body: enableBody('CONTOSO\\ccs-reader') })).status,
    ).toBe(202);
    const change = (identity: Record<string, string>) =>
      api.request('PATCH', resource(id), { body: { identity } });
    expect((await change({ password: `${PASSWORD}-2` })).status).toBe(202);
    expect((await change({ username: 'CONTOSO\\ccs-other', password: PASSWORD })).status).toBe(202);
    const generation = (await api.stores.desired.get(id))!.record.generation;
    const refused = await change({ password: `${PASSWORD}-3` });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ms-error-code')).toBe('IdentityChangeRateLimited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(ErrorBodySchema.parse(await readJson(refused))).toMatchObject({ name: 'identity', status: 429 });
    expect((await api.stores.desired.get(id))!.record.generation).toBe(generation);
    // Changes that do not touch the identity are not limited, and other ccs-ids have their own budget.
    expect((await api.request('PATCH', resource(id), { body: { private_key_password: 'x' } })).status).toBe(
      202,
    );
    expect(
      (await api.request('POST', resource('rate-2'), { body: enableBody('CONTOSO\\ccs-reader') })).status,
    ).toBe(202);
  });
});
