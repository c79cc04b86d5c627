/**
 * Bindings and serving results sized for queue messages. A report travels base64-encoded in one
 * Storage Queue message of at most 64 KiB, so its JSON must stay under 48 KiB
 * (agent/inventory/chunks.ts); a host may have thousands of bindings. So:
 *
 * - a binding list travels inside `hello`/`result` when its JSON fits in INLINE_BINDING_BYTES,
 *   else only its digest does and the list follows in `bindings` reports of at most
 *   CHUNK_BINDING_BYTES each (at most MAX_REPORTED_BINDINGS bindings are listed; `total` counts all);
 * - serving results are listed worst first (failed, mismatch, skipped, ok) up to
 *   SERVING_RESULT_BYTES; `counts` always covers every binding and `omitted` says how many are
 *   not listed.
 *
 * Together with the rest of a result report (header, actual state, an error of at most ~10 KB)
 * that keeps every report under the limit.
 */
import { bindingsDigest } from '../../shared/bindings/digest.js';
import {
  MAX_REPORTED_BINDINGS,
  type BindingsSummary,
  type CcsBinding,
  type HostError,
  type ServingCheck,
  type ServingResult,
} from '../../shared/messages.js';

export const INLINE_BINDING_BYTES = 14_000;
export const CHUNK_BINDING_BYTES = 40_000;
export const SERVING_RESULT_BYTES = 18_000;

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8') + 1;

// Defined in shared/ so the API recomputes exactly what the agent sends.
export { bindingsDigest };

/** What a host can say about its bindings: the list, or why it could not read it. */
export type BindingsRead = { bindings: CcsBinding[] } | { error: HostError };

export interface BindingsPlan {
  summary: BindingsSummary;
  /** The `bindings` report chunks the summary needs (none when the list is inline). */
  chunks: CcsBinding[][];
}

/** The summary for hello/result and, for a long list, its chunks. */
export function planBindings(read: BindingsRead): BindingsPlan {
  if ('error' in read) return { summary: { digest: null, total: 0, error: read.error }, chunks: [] };
  const listed = read.bindings.slice(0, MAX_REPORTED_BINDINGS);
  const digest = bindingsDigest(listed);
  const total = read.bindings.length;
  if (bytes(listed) <= INLINE_BINDING_BYTES) {
    return { summary: { digest, total, items: listed, error: null }, chunks: [] };
  }
  return { summary: { digest, total, error: null }, chunks: chunkBindings(listed) };
}

/** Consecutive slices whose JSON stays within `budget` bytes (at least one, possibly empty). */
export function chunkBindings(bindings: readonly CcsBinding[], budget = CHUNK_BINDING_BYTES): CcsBinding[][] {
  const chunks: CcsBinding[][] = [];
  let current: CcsBinding[] = [];
  let used = 2;
  for (const binding of bindings) {
    const size = bytes(binding);
    if (used + size > budget && current.length > 0) {
      chunks.push(current);
      current = [];
      used = 2;
    }
    current.push(binding);
    used += size;
  }
  chunks.push(current);
  return chunks;
}

const SEVERITY: Record<ServingResult['status'], number> = { failed: 0, mismatch: 1, skipped: 2, ok: 3 };

/** Every result counted; the worst listed first, as many as fit in `budget` bytes. */
export function servingCheck(
  results: readonly ServingResult[],
  at: Date,
  budget = SERVING_RESULT_BYTES,
): ServingCheck {
  const counts = { ok: 0, mismatch: 0, failed: 0, skipped: 0 };
  for (const result of results) counts[result.status] += 1;
  const ordered = results
    .map((result, index) => ({ result, index }))
    .sort((a, b) => SEVERITY[a.result.status] - SEVERITY[b.result.status] || a.index - b.index);
  const listed: ServingResult[] = [];
  let used = 2;
  for (const { result } of ordered) {
    const size = bytes(result);
    if (used + size > budget) break;
    listed.push(result);
    used += size;
  }
  return { at: at.toISOString(), counts, results: listed, omitted: results.length - listed.length };
}
