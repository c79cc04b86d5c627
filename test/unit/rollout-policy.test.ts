/** Rollout policies: validation (field-named 400s), defaults, wave planning, the serving gate. */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseBody } from '../../shared/api-schemas.js';
import { DomainError } from '../../shared/errors.js';
import type { ServingCheck, ServingResult } from '../../shared/messages.js';
import { servingRegressions } from '../../shared/rollout/gates.js';
import {
  DEFAULT_POLICY,
  isDefaultPolicy,
  planWaves,
  policyFromBody,
  policyView,
  resolveCount,
  RolloutBodySchema,
} from '../../shared/rollout/policy.js';
import { EnableBodySchema } from '../../shared/api-schemas.js';

const parse = (body: unknown) => policyFromBody(parseBody(RolloutBodySchema, body));

function fieldOf(body: unknown, schema: z.ZodType = RolloutBodySchema): string | undefined {
  try {
    parseBody(schema, body);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe('invalid');
    return (error as DomainError).field;
  }
  return undefined;
}

describe('rollout policy validation', () => {
  it.each([
    [{ canary: -1 }, 'canary'],
    [{ canary: 1.5 }, 'canary'],
    [{ canary: ['web-01', 'not a host!'] }, 'canary.1'],
    [{ canary: Array.from({ length: 101 }, (_, i) => `web-${i}`) }, 'canary'],
    [{ max_concurrency: 0 }, 'max_concurrency'],
    [{ max_concurrency: '0%' }, 'max_concurrency'],
    [{ max_concurrency: '101%' }, 'max_concurrency'],
    [{ max_concurrency: 'half' }, 'max_concurrency'],
    [{ max_errors: -1 }, 'max_errors'],
    [{ max_errors: null }, 'max_errors'],
    [{ bake_seconds: 86_401 }, 'bake_seconds'],
    [{ bake_seconds: '60' }, 'bake_seconds'],
    [{ auto_rollback: 'yes' }, 'auto_rollback'],
    [{ waves: 3 }, 'waves'],
  ])('%j is refused naming %s', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it('names the member inside a change body: rollout.<field>', () => {
    const body = { path: 'C:\\x', identity: { username: 'u', password: 'p' }, rollout: { max_errors: '5' } };
    expect(fieldOf(body, EnableBodySchema)).toBe('rollout.max_errors');
  });

  it('takes counts and percentages; omitted members are the default', () => {
    expect(parse({})).toEqual(DEFAULT_POLICY);
    expect(isDefaultPolicy(parse({}))).toBe(true);
    expect(isDefaultPolicy(parse({ max_errors: 3 }))).toBe(true);
    const policy = parse({
      canary: ['WEB-02', 'web-02', 'web-05'],
      max_concurrency: '25%',
      max_errors: 1,
      bake_seconds: 30,
      auto_rollback: true,
    });
    expect(policy).toEqual({
      canary: { names: ['web-02', 'web-05'] },
      maxConcurrency: { percent: 25 },
      maxErrors: { hosts: 1 },
      bakeSeconds: 30,
      autoRollback: true,
    });
    expect(isDefaultPolicy(policy)).toBe(false);
    expect(policyView(policy)).toEqual({
      canary: ['web-02', 'web-05'],
      max_concurrency: '25%',
      max_errors: 1,
      bake_seconds: 30,
      auto_rollback: true,
    });
    expect(parse({ canary: 0 }).canary).toBeNull();
    expect(parse({ canary: [] }).canary).toBeNull();
  });

  it('rounds a percentage up for a wave size and down for an error budget', () => {
    expect(resolveCount({ percent: 25 }, 10, 'up')).toBe(3);
    expect(resolveCount({ percent: 25 }, 10, 'down')).toBe(2);
    expect(resolveCount({ hosts: 4 }, 10, 'down')).toBe(4);
  });
});

describe('planWaves', () => {
  const fleet = Array.from({ length: 10 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);

  it('puts every host in exactly one wave: a canary count first, then max_concurrency per wave', () => {
    const waves = planWaves(fleet, {
      ...DEFAULT_POLICY,
      canary: { count: 1 },
      maxConcurrency: { percent: 25 },
    });
    expect(waves).toEqual([
      ['web-01'],
      ['web-02', 'web-03', 'web-04'],
      ['web-05', 'web-06', 'web-07'],
      ['web-08', 'web-09', 'web-10'],
    ]);
  });

  it('takes named canaries that are enrolled, whatever their case, and ignores the others', () => {
    const waves = planWaves(fleet, { ...DEFAULT_POLICY, canary: { names: ['web-07', 'gone-01'] } });
    expect(waves).toEqual([['web-07'], fleet.filter((h) => h !== 'web-07')]);
    expect(planWaves(['WEB-07', 'web-01'], { ...DEFAULT_POLICY, canary: { names: ['web-07'] } })).toEqual([
      ['WEB-07'],
      ['web-01'],
    ]);
  });

  it('is one wave without canary or max_concurrency, and none without hosts', () => {
    expect(planWaves(fleet, { ...DEFAULT_POLICY, autoRollback: true })).toEqual([fleet]);
    expect(planWaves([], { ...DEFAULT_POLICY, canary: { count: 2 } })).toEqual([]);
  });
});

describe('the serving gate', () => {
  const result = (hostName: string, status: ServingResult['status']): ServingResult => ({
    site: 'site',
    hostName,
    port: 443,
    ip: '*',
    status,
    detail: status,
    file: `${hostName}.pfx`,
    expected: null,
    served: null,
  });
  const check = (results: ServingResult[], omitted = 0): ServingCheck => ({
    at: '2026-01-01T00:00:00Z',
    counts: { ok: 0, mismatch: 0, failed: 0, skipped: 0 },
    results,
    omitted,
  });

  it('counts a binding that served ok before and fails or mismatches now', () => {
    const before = check([
      result('a.contoso.com', 'ok'),
      result('b.contoso.com', 'ok'),
      result('c.contoso.com', 'failed'),
    ]);
    const after = check([
      result('A.contoso.com', 'mismatch'),
      result('b.contoso.com', 'ok'),
      result('c.contoso.com', 'failed'),
    ]);
    expect(servingRegressions(before, after).map((b) => [b.hostName, b.status])).toEqual([
      ['A.contoso.com', 'mismatch'],
    ]);
  });

  it('never counts a binding that did not serve before, nor anything without a check from before', () => {
    const after = check([result('a.contoso.com', 'failed')]);
    expect(servingRegressions(null, after)).toEqual([]);
    expect(servingRegressions(check([result('a.contoso.com', 'skipped')]), after)).toEqual([]);
  });

  it('takes a binding missing from a check that omitted some as one of the omitted (ok)', () => {
    expect(servingRegressions(check([], 3), check([result('a.contoso.com', 'failed')]))).toHaveLength(1);
  });
});
