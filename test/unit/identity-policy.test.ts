/** The identity-change window and the allow-list (shared/services/identity-policy.ts), on a harness clock. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.js';
import { RateLimited } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import type { RateLimitRepository } from '../../shared/ports.js';
import { IdentityPolicy } from '../../shared/services/identity-policy.js';
import { MemoryRateLimitRepository } from '../support/memory-stores.js';

function policy(
  allowList = {},
  changesPerHour = 2,
  windows: RateLimitRepository = new MemoryRateLimitRepository(),
) {
  const clock = { at: Date.parse('2026-12-02T08:00:00Z'), now: () => new Date(clock.at) };
  return {
    clock,
    policy: new IdentityPolicy(windows, clock, { allowList: () => allowList, changesPerHour }, silentLogger),
  };
}

const refusal = async (promise: Promise<unknown>): Promise<RateLimited> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RateLimited);
  return error as RateLimited;
};

describe('identity-change rate limit', () => {
  it('allows the budget per sliding hour and per ccs-id, then says when to retry', async () => {
    const { clock, policy: p } = policy();
    await p.spend('a');
    clock.at += 20 * 60_000;
    await p.spend('a');
    await p.spend('b'); // another ccs-id has its own budget
    const refused = await refusal(p.spend('a'));
    expect(refused).toMatchObject({ kind: 'too-many', field: 'identity', retryAfterSeconds: 40 * 60 });
    // An hour after the first change, one slot is free again (and only one).
    clock.at += 40 * 60_000 + 1;
    await p.spend('a');
    await refusal(p.spend('a'));
  });

  it('counts each change once when instances race (conditional writes)', async () => {
    const windows = new MemoryRateLimitRepository();
    const { policy: p } = policy({}, 3, windows);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => p.spend('a')));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(3);
    expect((await windows.get('identity-change', 'a'))!.record.events.length).toBe(
      results.filter((r) => r.status === 'fulfilled').length,
    );
  });
});

describe('share-identity allow-list', () => {
  it('allows anything without a list, else only the listed names of the ccs-id or of *', () => {
    expect(() => policy().policy.checkAllowed('a', 'CONTOSO\\anyone')).not.toThrow();
    const { policy: p } = policy({ a: ['CONTOSO\\ccs-a'], '*': ['CONTOSO\\ccs'] });
    expect(() => p.checkAllowed('a', ' contoso\\CCS-A ')).not.toThrow();
    expect(() => p.checkAllowed('a', 'CONTOSO\\ccs')).toThrow(/allow-list/);
    expect(() => p.checkAllowed('b', 'CONTOSO\\ccs')).not.toThrow();
    expect(() => p.checkAllowed('b', 'CONTOSO\\Administrator')).toThrow(
      expect.objectContaining({ kind: 'forbidden', code: 'IdentityNotAllowed', field: 'identity.username' }),
    );
  });
});

describe('CCS_SHARE_IDENTITIES and CCS_IDENTITY_CHANGES_PER_HOUR', () => {
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    CCS_KEY_VAULT_URL: 'https://kv.example.net/',
    CCS_ALLOWED_LOCATIONS: '[]',
  };
  it('default to no allow-list and 10 changes an hour', () => {
    expect(parseConfig(base)).toMatchObject({ CCS_SHARE_IDENTITIES: {}, CCS_IDENTITY_CHANGES_PER_HOUR: 10 });
  });

  it('take ccs-ids or * as keys, each with at least one name, and refuse anything else naming the setting', () => {
    const ok = parseConfig({
      ...base,
      CCS_SHARE_IDENTITIES: '{"fleet-a":["CONTOSO\\\\a"],"*":["b@contoso.com"]}',
    });
    expect(ok.CCS_SHARE_IDENTITIES).toEqual({ 'fleet-a': ['CONTOSO\\a'], '*': ['b@contoso.com'] });
    for (const bad of ['not json', '["a"]', '{"Fleet A":["x"]}', '{"a":[]}', '{"a":[""]}']) {
      expect(() => parseConfig({ ...base, CCS_SHARE_IDENTITIES: bad }), bad).toThrow(/CCS_SHARE_IDENTITIES/);
    }
    expect(() => parseConfig({ ...base, CCS_IDENTITY_CHANGES_PER_HOUR: '0' })).toThrow(
      /CCS_IDENTITY_CHANGES_PER_HOUR/,
    );
  });
});
