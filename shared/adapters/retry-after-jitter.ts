/**
 * Jitter on top of `Retry-After`, for the Azure SDK clients of Key Vault.
 *
 * The SDKs' throttling retry waits exactly the `Retry-After` a 429/503 names. When a whole
 * fleet is throttled in the same second, that brings every caller back in the same second
 * again. Key Vault's throttling guidance (learn.microsoft.com/azure/key-vault/general/
 * overview-throttling) asks clients to back off with a randomised delay. This policy sits
 * inside the retry loop (`perRetry`), so it sees each attempt's response before the SDK's
 * retry policy does, and rewrites the wait the SDK will read: `retry-after-ms` (which the
 * SDK's throttlingRetryStrategy reads before `Retry-After`, @typespec/ts-http-runtime) becomes
 * the announced wait plus a random share of it. A caller never comes back earlier than the
 * service asked, a herd spreads over half the announced wait plus a quarter second, and when
 * no retry is left nothing waits at all.
 */
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';

export interface RetryAfterJitterOptions {
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  random?: () => number;
}

/** Extra wait: uniform in [0, retryAfter / 2 + 250 ms). */
export function jitterFor(retryAfterMs: number, random: () => number): number {
  return Math.floor(random() * (retryAfterMs / 2 + 250));
}

/**
 * The wait a throttling response announces, in milliseconds, read as the SDK reads it:
 * `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` (seconds or an HTTP date).
 */
export function announcedWaitMs(response: PipelineResponse, now = Date.now()): number | undefined {
  for (const header of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = response.headers.get(header);
    if (value !== undefined && /^\s*\d+\s*$/.test(value)) return Number(value);
  }
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter === undefined || retryAfter.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function retryAfterJitterPolicy(options: RetryAfterJitterOptions = {}): PipelinePolicy {
  const random = options.random ?? Math.random;
  return {
    name: 'retryAfterJitter',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429 || response.status === 503) {
        const waitMs = announcedWaitMs(response);
        if (waitMs !== undefined) {
          response.headers.set('retry-after-ms', String(waitMs + jitterFor(waitMs, random)));
        }
      }
      return response;
    },
  };
}

/** The form the SDK clients' `additionalPolicies` option takes. */
export function jitterPolicies(options?: RetryAfterJitterOptions): {
  policy: PipelinePolicy;
  position: 'perRetry';
}[] {
  return [{ policy: retryAfterJitterPolicy(options), position: 'perRetry' }];
}

/**
 * The wait a 429 error asks for — its `retryAfterMs` (our adapters' errors), or its SDK
 * response's `Retry-After` as the jitter policy above rewrote it; 1 s when it names none — or
 * undefined for any other error.
 */
export function throttledWaitMs(error: unknown): number | undefined {
  const { statusCode, response, retryAfterMs } = (error ?? {}) as {
    statusCode?: unknown;
    response?: PipelineResponse;
    retryAfterMs?: unknown;
  };
  if (statusCode !== 429) return undefined;
  if (typeof retryAfterMs === 'number') return retryAfterMs;
  return (response && announcedWaitMs(response)) ?? 1000;
}

/**
 * Runs `attempt` again while Key Vault keeps answering 429 after the SDK's own retries, waiting
 * what it asks each time, for up to `patienceMs` in all; any other failure, or a wait that would
 * end past the patience, is thrown as it came.
 */
export async function patientlyThrottled<T>(
  attempt: () => Promise<T>,
  patienceMs: number,
  now: () => number = Date.now,
): Promise<T> {
  const giveUpAt = now() + patienceMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const waitMs = throttledWaitMs(error);
      if (waitMs === undefined || now() + waitMs >= giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
