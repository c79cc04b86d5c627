/**
 * Following a long-running operation the Azure way: read `Operation-Location` until the status is
 * terminal, waiting what `Retry-After` says between reads. Each read is handed to the caller (the
 * console's progress view, `ccs`'s progress bar), so they show preflight and apply per host live.
 */
import type { CcsClient, Schemas } from './types.js';
import { ApiError, apiError } from './errors.js';

export type Operation = Schemas['Operation'];

export const isTerminal = (op: Operation): boolean =>
  op.status === 'Succeeded' || op.status === 'Failed' || op.status === 'Canceled';

export async function readOperation(client: CcsClient, id: string): Promise<Operation> {
  const { data, error, response } = await client.GET('/api/operations/{id}', { params: { path: { id } } });
  if (!response.ok || data === undefined) throw apiError(response, error);
  return data;
}

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });

/** Progress counts of an operation: how many hosts passed each phase, and how many failed. */
export function progressOf(op: Operation) {
  const count = (test: (h: Operation['hosts'][number]) => boolean) => op.hosts.filter(test).length;
  return {
    total: op.hosts.length,
    preflighted: count((h) => h.preflight === 'succeeded' || h.preflight === 'skipped'),
    applied: count((h) => h.apply === 'succeeded'),
    failed: count((h) => h.preflight === 'failed' || h.apply === 'failed'),
    /** Did not answer the preflight in time: they preflight again when they return, and never apply blindly. */
    unreachable: count((h) => h.preflight === 'unreachable' || h.apply === 'unreachable'),
  };
}

/**
 * Reads the operation until it ends, calling `onUpdate` with each read; resolves with the last.
 * `intervalMs` is the wait when the API sends no Retry-After (it sends 1 s while running).
 */
export async function followOperation(
  client: CcsClient,
  id: string,
  onUpdate: (op: Operation) => void,
  options: { signal?: AbortSignal; intervalMs?: number } = {},
): Promise<Operation> {
  for (;;) {
    const { data, error, response } = await client.GET('/api/operations/{id}', {
      params: { path: { id } },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok || data === undefined) throw apiError(response, error);
    onUpdate(data);
    if (isTerminal(data)) return data;
    const retryAfter = Number(response.headers.get('Retry-After'));
    const waitMs = retryAfter > 0 ? Math.min(retryAfter, 10) * 1000 : (options.intervalMs ?? 1000);
    await pause(waitMs, options.signal);
  }
}

/** A failed or canceled operation's error as an ApiError (the field at fault, the API's words), or null. */
export function operationFailure(op: Operation): ApiError | null {
  const error = op.error;
  if (!error) return null;
  return new ApiError(
    error.status,
    { title: 'Failed', name: error.target ?? undefined, detail: error.message, status: error.status },
    error.code,
    op.id,
  );
}
