/**
 * What the operation engine reads before it asks the state machine (operation-machine.ts) what
 * to do: for each phase, only the facts that phase's decision needs, read in an order that
 * cannot miss an event that lands between two reads.
 */
import type { HostError } from '../messages.js';
import type { OperationRecord } from '../model.js';
import type { Stores } from '../ports.js';
import type { OperationFacts } from './operation-machine.js';
import { readRolloutFacts } from './rollout-facts.js';

type FactStores = Pick<Stores, 'desired' | 'hosts' | 'operations' | 'serving'>;

/** The facts of `op`'s phase; `claimed`: whether the caller holds its commit. */
export async function readFacts(
  stores: FactStores,
  op: OperationRecord,
  claimed: boolean,
  now: Date,
): Promise<OperationFacts> {
  const operations = stores.operations;
  if (op.phase === 'staging' || op.phase === 'reencrypting') {
    // The publisher's result is written on the operation itself: nothing more to read.
    const step = op.rotation?.step ?? {
      kind: op.phase === 'staging' ? 'stage' : 'in-place',
      host: '',
      requestedAt: op.createdAt,
      outcome: 'failed',
      error: { name: 'host', code: 'HostFailed', detail: 'The rotation has no plan', status: 500 },
    };
    return { phase: op.phase, step };
  }
  if (op.phase === 'preflight') {
    // Pending first, failures second: rows only ever leave pending, so a host that fails
    // between the two reads is still seen failed (read together, it could be seen in neither).
    const pending = (await operations.hostsWhere(op.id, 'preflight', 'pending', 1)).length > 0;
    const [first] = await operations.hostsWhere(op.id, 'preflight', 'failed', 1);
    // The first failed host's error decides (host order); read them all only if it has none.
    const failures = !first
      ? []
      : first.error
        ? [first.error]
        : (await operations.hostsWhere(op.id, 'preflight', 'failed')).map((r) => r.error);
    return { phase: 'preflight', pending, failures };
  }
  if (op.phase === 'committing') {
    const read = claimed ? await stores.desired.get(op.ccsId) : null;
    return { phase: 'committing', claimed, desired: read && { ...read.record, etag: read.etag } };
  }
  if (op.phase !== 'apply' && op.rollout) return readRolloutFacts(stores, op, op.rollout, now);
  return { phase: 'apply', ...(await applyProgress(stores, op, now)) };
}

/**
 * Runs on every apply report. Before the deadline, one host row still pending whose host has
 * not applied this generation settles it (two small reads, instead of every row and every host
 * on every report: O(N²) over an operation). Otherwise every row and host is read.
 */
async function applyProgress(
  stores: FactStores,
  op: OperationRecord,
  now: Date,
): Promise<{ silent: string[]; failures: (HostError | null)[] }> {
  if (now < new Date(op.deadline)) {
    const [first] = await stores.operations.hostsWhere(op.id, 'apply', 'pending', 1);
    if (first) {
      const host = await stores.hosts.get(op.ccsId, first.host);
      if ((host?.appliedGeneration ?? 0) < op.targetGeneration) return { silent: [first.host], failures: [] };
    }
  }
  const [rows, hosts] = await Promise.all([stores.operations.hosts(op.id), stores.hosts.list(op.ccsId)]);
  // Level-triggered: a host that applied this generation or a newer one is done, whatever
  // message told it to.
  const applied = new Set(
    hosts.filter((h) => h.appliedGeneration >= op.targetGeneration).map((h) => h.host.toLowerCase()),
  );
  const open = rows.filter((r) => !applied.has(r.host.toLowerCase()));
  return {
    silent: open.filter((r) => r.apply === 'pending').map((r) => r.host),
    failures: open.filter((r) => r.apply === 'failed').map((r) => r.error),
  };
}
