/**
 * What a fleet change is checked for besides its speed: how long its Key Vault secret reads
 * took across the fleet, and that nothing was lost on the way (every host at the new
 * generation, nothing set aside as poison) — the proof a run under the services' throttling
 * must give, since a refused request that is never sent again shows up only here.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import { poisonQueueName, REPORTS_QUEUE } from '../../shared/names.js';
import { decodeMessageText } from '../../shared/messages.js';
import type { SecretRead } from './fleet.js';
import { p50, p99 } from './stats.js';

export interface SecretReadStats {
  /** Secret reads by the agents in the change's window (each SDK call, its own retries included). */
  reads: number;
  /** Calls that failed after the SDK's retries (throttled; the agent waits and calls again). */
  failed: number;
  /** Hosts with at least one successful read. */
  hosts: number;
  /** From the first read's start to the last read's end, across hosts. */
  firstToLastMs: number;
  /** A host's read, first attempt to success (throttled attempts included): p50 / p99 across hosts. */
  readP50Ms: number;
  readP99Ms: number;
  /** From the change's request to the host's read done: p50 / p99 across hosts. */
  doneP50Ms: number;
  doneP99Ms: number;
}

/**
 * The reads started between `from` (the change's request) and `to` (wall-clock ms); `done` is
 * counted from `from`: at 1,000 hosts the 202 comes after the fan-out, when hosts have read.
 */
export function secretReadStats(all: readonly SecretRead[], from: number, to: number): SecretReadStats {
  const reads = all.filter((r) => r.startedAt >= from && r.startedAt <= to);
  const ok = reads.filter((r) => r.ok);
  // A host's read of one version spans its first attempt (a throttled one included) to its
  // success; the host's figure is its last such read (a rotation reads one secret, enable two).
  const spans = new Map<string, { host: string; startedAt: number; endedAt: number }>();
  for (const r of reads) {
    const key = `${r.host}\u0000${r.name}\u0000${r.version}`;
    const span = spans.get(key);
    if (!span) spans.set(key, { host: r.host, startedAt: r.startedAt, endedAt: r.ok ? r.endedAt : -1 });
    else {
      span.startedAt = Math.min(span.startedAt, r.startedAt);
      if (r.ok) span.endedAt = Math.max(span.endedAt, r.endedAt);
    }
  }
  const perHost = new Map<string, { startedAt: number; endedAt: number }>();
  for (const span of spans.values()) {
    if (span.endedAt < 0) continue;
    const seen = perHost.get(span.host);
    if (!seen || span.endedAt > seen.endedAt) perHost.set(span.host, span);
  }
  const hostReads = [...perHost.values()];
  const durations = hostReads.map((r) => r.endedAt - r.startedAt);
  const done = hostReads.map((r) => r.endedAt - from);
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
  /** What was poisoned: `report <type>/<phase> <host> g<generation>` and `<poison queue> ×n`. */
  poisoned: string[];
}

/** Poison messages so far: the reports queue's poison queue, and every host's. */
export async function poisonedCounts(
  connectionString: string,
): Promise<Pick<LossCheck, 'reportsPoisoned' | 'commandsPoisoned' | 'poisoned'>> {
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const count = async (name: string) => {
    try {
      return (await service.getQueueClient(name).getProperties()).approximateMessagesCount ?? 0;
    } catch {
      return 0; // never created: nothing was set aside
    }
  };
  const poisoned: string[] = [];
  let commandsPoisoned = 0;
  for await (const queue of service.listQueues({ prefix: 'h-' })) {
    if (!queue.name.endsWith('-poison')) continue;
    const n = await count(queue.name);
    commandsPoisoned += n;
    if (n > 0) poisoned.push(`${queue.name} ×${n}`);
  }
  const reportsPoison = poisonQueueName(REPORTS_QUEUE);
  const reportsPoisoned = await count(reportsPoison);
  if (reportsPoisoned > 0) {
    const peeked = await service.getQueueClient(reportsPoison).peekMessages({ numberOfMessages: 32 });
    for (const item of peeked.peekedMessageItems) poisoned.push(describeReport(item.messageText));
  }
  return { reportsPoisoned, commandsPoisoned, poisoned };
}

function describeReport(text: string): string {
  try {
    const r = decodeMessageText(text) as Record<string, string | number | undefined>;
    const generation = r.type === 'hello' ? r.appliedGeneration : r.generation;
    return `report ${r.type}/${r.phase ?? '-'} ${r.host} g${generation}`;
  } catch {
    return 'report (undecodable)';
  }
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
