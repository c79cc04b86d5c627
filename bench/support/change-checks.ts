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
  /** The failures by cause (`429 Throttled`, `no status ECONNRESET`…). */
  failures: Record<string, number>;
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
    failures: reads.reduce<Record<string, number>>((by, r) => {
      if (!r.ok) by[r.error ?? '?'] = (by[r.error ?? '?'] ?? 0) + 1;
      return by;
    }, {}),
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
  /**
   * … of which carry news the API does not show: a host's report for a generation it is not
   * shown at. A poisoned copy of a report that was folded (its delete refused until the copy
   * had been delivered five times) loses nothing.
   */
  reportsPoisonedUnfolded: number;
  /** Messages in the hosts' `h-…-poison` queues (commands a host gave up on), so far. */
  commandsPoisoned: number;
  /** What was poisoned: `report <type>/<phase> <host> g<generation>` and `<poison queue> ×n`. */
  poisoned: string[];
}

interface PoisonedReport {
  text: string;
  host: string;
  generation: number;
}

/** Every message of a queue, read without deleting (each stays invisible for a minute). */
async function readAll(service: QueueServiceClient, name: string): Promise<string[]> {
  const queue = service.getQueueClient(name);
  const texts: string[] = [];
  for (let round = 0; round < 100; round++) {
    const { receivedMessageItems: items } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 60,
    });
    if (items.length === 0) break;
    texts.push(...items.map((i) => i.messageText));
  }
  return texts;
}

function parseReport(text: string): PoisonedReport {
  try {
    const r = decodeMessageText(text) as Record<string, string | number | undefined>;
    const generation = Number(r.type === 'hello' ? r.appliedGeneration : r.generation);
    return {
      text: `report ${r.type}/${r.phase ?? '-'} ${r.host} g${generation}`,
      host: String(r.host),
      generation,
    };
  } catch {
    return { text: 'report (undecodable)', host: '', generation: Number.POSITIVE_INFINITY };
  }
}

/**
 * Nothing lost, as far as the API and the queues can tell: the hosts at `generation` in the
 * API's hosts view, and what sits in the poison queues (the reports queue's and every host's).
 */
export async function checkLoss(
  api: (method: string, path: string) => Promise<Response>,
  resource: string,
  connectionString: string,
  generation: number,
  hostsReported: number,
): Promise<LossCheck> {
  const applied = await appliedGenerations(api, resource);
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const exists = async (name: string) =>
    service
      .getQueueClient(name)
      .getProperties()
      .then(
        () => true,
        () => false, // never created: nothing was set aside
      );
  const poisoned: string[] = [];
  let commandsPoisoned = 0;
  for await (const queue of service.listQueues({ prefix: 'h-' })) {
    if (!queue.name.endsWith('-poison')) continue;
    const n = (await readAll(service, queue.name)).length;
    commandsPoisoned += n;
    if (n > 0) poisoned.push(`${queue.name} ×${n}`);
  }
  const reportsPoison = poisonQueueName(REPORTS_QUEUE);
  const reports = (await exists(reportsPoison))
    ? (await readAll(service, reportsPoison)).map(parseReport)
    : [];
  poisoned.push(...reports.map((r) => r.text));
  return {
    hostsReported,
    hostsAtGeneration: [...applied.values()].filter((g) => g >= generation).length,
    reportsPoisoned: reports.length,
    reportsPoisonedUnfolded: reports.filter((r) => (applied.get(r.host) ?? -1) < r.generation).length,
    commandsPoisoned,
    poisoned,
  };
}

/** Each host's applied generation, as the API's hosts view shows it. */
async function appliedGenerations(
  api: (method: string, path: string) => Promise<Response>,
  resource: string,
): Promise<Map<string, number>> {
  const res = await api('GET', `${resource}/hosts`);
  if (res.status !== 200) throw new Error(`the API answered ${res.status} to the hosts list`);
  const body = (await res.json()) as { hosts?: { name: string; applied_generation?: number }[] };
  return new Map((body.hosts ?? []).map((h) => [h.name, h.applied_generation ?? -1]));
}
