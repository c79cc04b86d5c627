/**
 * Jitter for the Storage SDK's retries of a throttled request.
 *
 * Azure Storage answers a request over a queue's, a partition's or the account's scalability
 * target with 503 `ServerBusy` (or 500 `OperationTimedOut`), with no `Retry-After`, and asks
 * clients to back off exponentially ("Scalability and performance targets for Queue Storage",
 * learn.microsoft.com/azure/storage/queues/scalability-targets; "Common REST API error codes").
 * `@azure/storage-queue`'s own retry policy (storage-common `storageRetryPolicy`) does retry
 * 500 and 503, but with a fixed exponential schedule and no randomness: (2^(try−1) − 1) ×
 * `retryDelayInMs`, so the first retry goes out at once, and a fleet throttled in the same
 * second comes back in the same second, every time.
 *
 * This policy runs inside that retry loop (after the Retry phase: it sees every try) and, when
 * a try was refused and another will follow, waits a random share of the next exponential step
 * before handing the answer back: the total wait for try n lies in
 * [(2^(n−1) − 1) × d, (2^n − 1) × d), never shorter than the SDK's own wait. The last try
 * waits for nothing.
 */
import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import type { QueueServiceClient } from '@azure/storage-queue';

export interface StorageBusyJitterOptions {
  /** The SDK retry options' `retryDelayInMs`: the unit of its exponential schedule. */
  retryDelayInMs: number;
  /** The SDK retry options' `maxTries`. */
  maxTries: number;
  /** The SDK retry options' `maxRetryDelayInMs`: no jitter is longer. */
  maxRetryDelayInMs?: number;
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  random?: () => number;
}

/** Statuses the Storage services answer when a target is exceeded. */
const BUSY = new Set([500, 503]);

/** The extra wait after try `attempt` (1-based): uniform in [0, d × 2^(attempt−1)), capped. */
export function busyJitterMs(
  attempt: number,
  options: StorageBusyJitterOptions,
  random = Math.random,
): number {
  const step = options.retryDelayInMs * 2 ** (attempt - 1);
  return Math.floor(random() * Math.min(step, options.maxRetryDelayInMs ?? step));
}

export function storageBusyJitterPolicy(options: StorageBusyJitterOptions): PipelinePolicy {
  const random = options.random ?? Math.random;
  // The retry policy sends the same request object on every try.
  const tries = new WeakMap<PipelineRequest, number>();
  return {
    name: 'storageBusyJitter',
    async sendRequest(request, next) {
      const attempt = (tries.get(request) ?? 0) + 1;
      tries.set(request, attempt);
      const response = await next(request);
      if (BUSY.has(response.status) && attempt < options.maxTries) {
        const waitMs = busyJitterMs(attempt, options, random);
        if (waitMs > 0) await sleep(waitMs, request.abortSignal);
      }
      return response;
    },
  };
}

/** Waits, or stops waiting when the request is aborted (the retry policy then gives up on it). */
function sleep(ms: number, signal: PipelineRequest['abortSignal']): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/**
 * Adds the policy to a queue service client's pipeline, shared by every QueueClient it hands
 * out. `@azure/storage-queue` has no supported hook for a per-try policy (its
 * `additionalPolicies` would be added once per QueueClient to the one shared pipeline, which
 * refuses duplicate names), so this reaches the pipeline the SDK built; a test
 * (test/unit/storage-busy-jitter.test.ts) fails loudly if an SDK update moves it.
 */
export function withBusyJitter(
  service: QueueServiceClient,
  options: StorageBusyJitterOptions,
): QueueServiceClient {
  const pipeline = (service as unknown as { pipeline?: { _corePipeline?: CorePipeline } }).pipeline
    ?._corePipeline;
  if (!pipeline || typeof pipeline.addPolicy !== 'function') {
    throw new Error('the Storage SDK no longer exposes its pipeline: cannot add retry jitter');
  }
  const policy = storageBusyJitterPolicy(options);
  if (!pipeline.getOrderedPolicies().some((p) => p.name === policy.name)) {
    pipeline.addPolicy(policy, { afterPhase: 'Retry' });
  }
  return service;
}

interface CorePipeline {
  addPolicy(policy: PipelinePolicy, options: { afterPhase: 'Retry' }): void;
  getOrderedPolicies(): PipelinePolicy[];
}
