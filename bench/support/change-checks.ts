/**
 * What a fleet change is checked for besides its speed: how long its Key Vault secret reads
 * took across the fleet, and that nothing was lost on the way (every host at the new
 * generation, nothing set aside as poison) — the proof a run under the services' throttling
 * must give, since a refused request that is never sent again shows up only here.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import { poisonQueueName, REPORTS_QUEUE } from '../../shared/names.js';
import type { SecretRead } from './fleet.js';
import { p50, p99 } from './stats.js';

export interface SecretReadStats {
  /** Key Vault secret reads by the agents in the change's window (a throttled retry is one read). */
  reads: number;
  /** Reads that failed after the SDK's retries. */
  failed: number;
  /** Hosts with at least one successful read. */
  hosts: number;
  /** From the first read's start to the last read's end, across hosts. */
  firstToLastMs: number;
  /** One read's duration (its 429 retries included), per host: p50 / p99 across hosts. */
  readP50Ms: number;
  readP99Ms: number;
  /** From the 202 to the host's read done: p50 / p99 across hosts. */
  doneP50Ms: number;
  doneP99Ms: number;
}

/** The reads started between `from` and `to` (wall-clock ms); t202 anchors `done`. */
export function secretReadStats(
  all: readonly SecretRead[],
  from: number,
  to: number,
  t202: number,
): SecretReadStats {
  const reads = all.filter((r) => r.startedAt >= from && r.startedAt <= to);
  const ok = reads.filter((r) => r.ok);
  // A host's read: its slowest successful one (a rotation reads one secret; enable two).
  const perHost = new Map<string, SecretRead>();
  for (const r of ok) {
    const seen = perHost.get(r.host);
    if (!seen || r.endedAt > seen.endedAt) perHost.set(r.host, r);
  }
  const hostReads = [...perHost.values()];
  const durations = hostReads.map((r) => r.endedAt - r.startedAt);
  const done = hostReads.map((r) => r.endedAt - t202);
  const first = Math.min(...reads.map((r) => r.startedAt));
  const last = Math.max(...reads.map((r) => r.endedAt));
  const round = (x: number) => (Number.isFinite(x) ? Math.round(x) : 0);
  return {
    reads: reads.length,
    failed: reads.length - ok.length,
    hosts: perHost.size,
    firstToLastMs: reads.length ? round(last - first) : 0,
    readP50Ms: round(p50(durations)),
    readP99Ms: round(p99(durations)),
    doneP50Ms: round(p50(done)),
    doneP99Ms: round(p99(done)),
  };
}

export interface LossCheck {
  /** Hosts whose apply result for the change reached the reports queue. */
  hostsReported: number;
  /** Hosts the API shows at the change's generation or later (their reports were folded). */
  hostsAtGeneration: number;
  /** Messages in `ccs-reports-poison` (reports the API gave up on), so far in the run. */
  reportsPoisoned: number;
  /** Messages in the hosts' `h-…-poison` queues (commands a host gave up on), so far. */
  commandsPoisoned: number;
}

/** Poison messages so far: the reports queue's poison queue, and every host's. */
export async function poisonedCounts(
  connectionString: string,
): Promise<Pick<LossCheck, 'reportsPoisoned' | 'commandsPoisoned'>> {
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const count = async (name: string) => {
    try {
      return (await service.getQueueClient(name).getProperties()).approximateMessagesCount ?? 0;
    } catch {
      return 0; // never created: nothing was set aside
    }
  };
  let commandsPoisoned = 0;
  for await (const queue of service.listQueues({ prefix: 'h-' })) {
    if (queue.name.endsWith('-poison')) commandsPoisoned += await count(queue.name);
  }
  return { reportsPoisoned: await count(poisonQueueName(REPORTS_QUEUE)), commandsPoisoned };
}

/** Hosts the API's hosts view shows at `generation` or later. */
export async function hostsAtGeneration(
  api: (method: string, path: string) => Promise<Response>,
  resource: string,
  generation: number,
): Promise<number> {
  const res = await api('GET', `${resource}/hosts`);
  if (res.status !== 200) throw new Error(`the API answered ${res.status} to the hosts list`);
  const body = (await res.json()) as { hosts?: { applied_generation?: number }[] };
  return (body.hosts ?? []).filter((h) => (h.applied_generation ?? 0) >= generation).length;
}
