/**
 * The answer to a change the hosts refused with `BoundNamesUncovered` (docs/agent.md, "The
 * bound-names check"): one 409 for the whole fleet, naming every host name at stake and every
 * host that refused, with the way out (`?force=true`). Each host's own error stays on its row.
 */
import { DomainError } from '../errors.js';
import type { OperationError, OperationHostRecord } from '../model.js';

export const BOUND_NAMES_UNCOVERED = 'BoundNamesUncovered';
/** Names and hosts the error body lists at most. */
const LISTED = 100;

const list = (items: readonly string[], shown = 5): string =>
  items.slice(0, shown).join(', ') + (items.length > shown ? `, and ${items.length - shown} more` : '');

export function boundNamesConflict(
  error: OperationError,
  hosts: readonly OperationHostRecord[],
): DomainError {
  const refused = hosts.filter((h) => h.preflight === 'failed' && h.error?.code === BOUND_NAMES_UNCOVERED);
  // Host names compare case-insensitively (DNS); the first spelling reported is shown.
  const unique = new Map<string, string>();
  for (const name of refused.flatMap((h) => h.error?.hostNames ?? [])) {
    if (!unique.has(name.toLowerCase())) unique.set(name.toLowerCase(), name);
  }
  const names = [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, n]) => n);
  const hostNames = refused.map((h) => h.host).sort();
  const detail =
    names.length === 0
      ? error.message
      : `The change would leave ${names.length} bound host name${names.length === 1 ? '' : 's'} without a certificate the new settings can open: ${list(names)} (on ${list(hostNames)}). Nothing changed; add ?force=true to make the change anyway`;
  return new DomainError('conflict', BOUND_NAMES_UNCOVERED, detail, error.target ?? undefined, {
    host_names: names.slice(0, LISTED),
    hosts: hostNames.slice(0, LISTED),
  });
}
