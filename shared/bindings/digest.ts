/**
 * The digest that names one snapshot of a host's CCS bindings across reports (docs/agent.md,
 * "Sizes"): SHA-256 (base64url) of the list in the agent's stable order. The agent computes it
 * when it sends a list; the API recomputes it over a list it assembled from chunks, so a list
 * whose chunks do not add up is never stored as that snapshot.
 */
import { createHash } from 'node:crypto';
import type { CcsBinding } from '../messages.js';

/** SHA-256 (base64url) of the list in its stable order: equal lists, equal digests. */
export function bindingsDigest(bindings: readonly CcsBinding[]): string {
  const canonical = bindings.map((b) => [b.site, b.hostName, b.port, b.ip, b.sni]);
  return createHash('sha256').update(JSON.stringify(canonical), 'utf8').digest('base64url');
}
