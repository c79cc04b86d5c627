import { createHttpHeaders, createPipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { bucketsOf, DOCUMENTED_VAULT_LIMITS, VaultThrottle } from '../../local/keyvault/throttle.js';
import {
  announcedWaitMs,
  jitterFor,
  retryAfterJitterPolicy,
} from '../../shared/adapters/retry-after-jitter.js';

describe('VaultThrottle (Key Vault service limits)', () => {
  it('holds the documented budgets: 300 secret creates and 4,000 other transactions per 10 s', () => {
    let now = 0;
    const throttle = new VaultThrottle({ now: () => now });
    expect(throttle.effectiveLimits).toEqual(DOCUMENTED_VAULT_LIMITS);
    for (let i = 0; i < 300; i++) expect(throttle.admit('setSecret').allowed).toBe(true);
    expect(throttle.admit('setSecret')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    for (let i = 0; i < 3700; i++) expect(throttle.admit('getSecret').allowed).toBe(true);
    now = 2_500;
    expect(throttle.admit('getSecret')).toEqual({ allowed: false, retryAfterSeconds: 8 }); // 7.5 s, rounded up
    expect(throttle.admit('sign').allowed).toBe(true); // keys have their own budget
    expect(throttle.throttled).toBe(2);
  });

  it('scales every budget for a benchmark that stands for a share of a fleet, never below one', () => {
    const throttle = new VaultThrottle({ scale: 0.001 });
    expect(throttle.effectiveLimits).toEqual({ secretCreate: 1, secretOther: 4, keyCreate: 1, keyOther: 4 });
    expect(() => new VaultThrottle({ scale: 0 })).toThrow(/scale/);
  });

  it('charges creates to their kind\'s "all transactions" as well', () => {
    expect(bucketsOf('setSecret')).toEqual(['secretCreate', 'secretOther']);
    expect(bucketsOf('importCertificate')).toEqual(['secretCreate', 'secretOther']);
    expect(bucketsOf('createKey')).toEqual(['keyCreate', 'keyOther']);
    expect(bucketsOf('getKey')).toEqual(['keyOther']);
    expect(bucketsOf('getSecretVersions')).toEqual(['secretOther']);
  });
});

function response(status: number, headers: Record<string, string>): PipelineResponse {
  return {
    status,
    headers: createHttpHeaders(headers),
    request: createPipelineRequest({ url: 'https://vault.example/secrets/x' }),
  };
}

describe('Retry-After jitter', () => {
  it('reads the wait as the SDK does: retry-after-ms, x-ms-retry-after-ms, then Retry-After', () => {
    expect(announcedWaitMs(response(429, { 'retry-after': '3' }))).toBe(3000);
    expect(announcedWaitMs(response(429, { 'retry-after': '3', 'x-ms-retry-after-ms': '120' }))).toBe(120);
    const now = Date.parse('2026-12-02T08:00:00Z');
    expect(announcedWaitMs(response(503, { 'retry-after': 'Wed, 02 Dec 2026 08:00:05 GMT' }), now)).toBe(
      5000,
    );
    expect(announcedWaitMs(response(429, {}))).toBeUndefined();
    expect(announcedWaitMs(response(429, { 'retry-after': 'soon' }))).toBeUndefined();
  });

  it('adds at most half the announced wait plus 250 ms, never less than nothing', () => {
    expect(jitterFor(10_000, () => 0)).toBe(0);
    expect(jitterFor(10_000, () => 0.999999)).toBe(5249);
    expect(jitterFor(0, () => 0.5)).toBe(125);
  });

  it('rewrites the wait of throttling answers only', async () => {
    const policy = retryAfterJitterPolicy({ random: () => 0.5 });
    const request = createPipelineRequest({ url: 'https://vault.example/secrets/x' });
    const throttled = await policy.sendRequest(request, () =>
      Promise.resolve(response(429, { 'retry-after': '2' })),
    );
    expect(throttled.headers.get('retry-after-ms')).toBe('2625');
    const fine = await policy.sendRequest(request, () =>
      Promise.resolve(response(200, { 'retry-after': '2' })),
    );
    expect(fine.headers.get('retry-after-ms')).toBeUndefined();
  });
});
