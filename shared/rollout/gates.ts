/**
 * The serving gate of a rollout (issue 19): which bindings served `ok` before a change and do
 * not after it. Pure: the facts reader (shared/services/rollout-facts.ts) hands it the host's
 * serving checks from before and after the apply.
 */
import type { ServingCheck, ServingResult } from '../messages.js';
import type { RolloutError } from './model.js';

const keyOf = (r: ServingResult): string => `${r.site}|${r.hostName.toLowerCase()}|${r.port}|${r.ip}`;

/**
 * The bindings `after` reports `mismatch` or `failed` that served `ok` in `before`. A check
 * lists its results worst first and omits the rest when there are too many (ServingCheckSchema),
 * so a binding missing from a check that omitted some is taken as one of the omitted — the best,
 * `ok` or `skipped` — and counts. Without a check from before there is nothing to regress from:
 * a binding that never served is coverage's business (issue 13), not the rollout's.
 */
export function servingRegressions(
  before: ServingCheck | null,
  after: ServingCheck,
): RolloutError['bindings'] {
  if (!before) return [];
  const was = new Map(before.results.map((r) => [keyOf(r), r.status]));
  return after.results
    .filter((r) => r.status === 'mismatch' || r.status === 'failed')
    .filter((r) => {
      const status = was.get(keyOf(r));
      return status === 'ok' || (status === undefined && before.omitted > 0);
    })
    .map((r) => ({ site: r.site, hostName: r.hostName, port: r.port, status: r.status, detail: r.detail }));
}
