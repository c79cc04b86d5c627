/**
 * A read-then-write of one operation host row that cannot lose another writer's result: the row
 * is read with its ETag and replaced only if nobody wrote it in between; a lost race reads the
 * row again and decides again (the soak's seed 20261204: the engine marked a silent host
 * `unreachable` over a `failed` folded a moment before, or the fold wrote `failed` over the
 * engine's `unreachable` after the change had committed without that host).
 */
import type { OperationHostRecord } from '../model.js';
import type { OperationRepository } from '../ports.js';

/** Lost races in a row before giving up (a row has a handful of writers: the engine, one host's reports). */
const MAX_ATTEMPTS = 8;

export type HostRowUpdate = 'written' | 'unchanged' | 'missing';

/**
 * Apply `change` to the host's current row and write the result conditionally. `change` returns
 * null to leave the row as it is (the decision is re-made on every attempt, from a fresh read).
 * `missing`: the operation has no row for that host.
 */
export async function updateHostRow(
  operations: Pick<OperationRepository, 'getHost' | 'saveHost'>,
  id: string,
  host: string,
  change: (row: OperationHostRecord) => OperationHostRecord | null,
): Promise<HostRowUpdate> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const loaded = await operations.getHost(id, host);
    if (!loaded) return 'missing';
    const changed = change(loaded.record);
    if (changed === null) return 'unchanged';
    if ((await operations.saveHost(changed, loaded.etag)) !== null) return 'written';
  }
  // Thrown, not ignored: the report is retried by its queue, the engine's step by the next advance.
  throw new Error(`host row ${host} of operation ${id} kept changing under ${MAX_ATTEMPTS} writes`);
}
