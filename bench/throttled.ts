/**
 * `npm run bench -- --only throttled --hosts 1000`: a fleet enabled and then rotated (the share
 * account's password changes, then the fleet's) under the services' documented limits, scaled
 * to the fleet's share: Key Vault's per-vault budgets on the local vault (`--kv-scale`,
 * local/keyvault/throttle.ts) and Queue Storage's per-queue and per-account targets in front of
 * the queue emulator (`--queue-scale`, bench/support/queue-throttle.ts). It reports how long
 * the hosts' secret reads took, the 429s and 503s served, and that nothing was lost: every
 * host reported, the API shows every host at the new generation, nothing went to poison.
 */
import { runFleetSize, type ChangeResult, type FleetSizeResult } from './fleet.js';
import { DOCUMENTED_QUEUE_LIMITS, type QueueThrottleOptions } from './support/queue-throttle.js';
import { DOCUMENTED_VAULT_LIMITS } from '../local/keyvault/throttle.js';
import type { BenchThrottle } from './support/vault-child.js';
import { markdownTable, seconds } from './support/stats.js';

export interface ThrottledOptions {
  hosts: number;
  /** Key Vault's documented limits × this (0.1: a 1,000-host run is a tenth of 10,000 hosts' vault). */
  kvScale?: number;
  /** Queue Storage's documented targets × this. */
  queueScale?: number;
  /** Explicit budgets instead of scaled ones (the smoke test's tiny ones). */
  keyVaultThrottle?: BenchThrottle;
  queueThrottle?: Omit<QueueThrottleOptions, 'now'>;
  pollMinSeconds?: number;
  pollMaxSeconds?: number;
  queueShards?: number;
  /** Passed through to the fleet benchmark (the smoke test's small settings). */
  fleet?: Partial<Parameters<typeof runFleetSize>[1]>;
  log?: (line: string) => void;
}

export interface ThrottledResult {
  name: 'throttled';
  hosts: number;
  kvScale: number | null;
  queueScale: number | null;
  /** The budgets in force: Key Vault's per 10 s, the queues' per second. */
  limits: { keyVault: Record<string, number>; queue: Record<string, number> };
  run: FleetSizeResult;
  /** Every change succeeded and nothing was lost (see ChangeResult.loss). */
  nothingLost: boolean;
}

export async function runThrottled(options: ThrottledOptions): Promise<ThrottledResult> {
  const kvScale = options.kvScale ?? 0.1;
  const queueScale = options.queueScale ?? 0.1;
  const keyVaultThrottle = options.keyVaultThrottle ?? { scale: kvScale };
  const queueThrottle = options.queueThrottle ?? { scale: queueScale };
  const run = await runFleetSize(options.hosts, {
    pollMinSeconds: options.pollMinSeconds,
    pollMaxSeconds: options.pollMaxSeconds,
    queueShards: options.queueShards,
    ...options.fleet,
    keyVaultThrottle,
    queueThrottle,
    changes: ['enable', 'rotate'],
    log: options.log,
  });
  const scaled = (limits: Record<string, number>, scale: number, explicit?: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(limits).map(([k, v]) => [k, explicit?.[k] ?? Math.max(1, Math.floor(v * scale))]),
    );
  return {
    name: 'throttled',
    hosts: options.hosts,
    kvScale: options.keyVaultThrottle ? null : kvScale,
    queueScale: options.queueThrottle ? null : queueScale,
    limits: {
      keyVault: scaled({ ...DOCUMENTED_VAULT_LIMITS }, keyVaultThrottle.scale ?? 1, keyVaultThrottle.limits),
      queue: scaled({ ...DOCUMENTED_QUEUE_LIMITS }, queueThrottle.scale ?? 1, queueThrottle.limits),
    },
    run,
    nothingLost: run.changes.every((c) => nothingLost(c, options.hosts)),
  };
}

/**
 * The change succeeded, every host reported and is shown at its generation, no command was set
 * aside, and every report set aside is a copy of one the API folded.
 */
export function nothingLost(c: ChangeResult, hosts: number): boolean {
  return (
    c.operationStatus === 'Succeeded' &&
    c.loss.hostsReported === hosts &&
    c.loss.hostsAtGeneration === hosts &&
    c.loss.reportsPoisonedUnfolded === 0 &&
    c.loss.commandsPoisoned === 0
  );
}

export function throttledMarkdown(r: ThrottledResult): string {
  const kv = r.limits.keyVault;
  const q = r.limits.queue;
  const rows = r.run.changes.map((c) => [
    c.change,
    seconds(c.requestMs),
    seconds(c.p50Ms),
    seconds(c.p99Ms),
    seconds(c.operationMs),
    `${seconds(c.secretReads.firstToLastMs)} (${c.secretReads.reads} reads)`,
    `${c.secretReads.readP50Ms} / ${c.secretReads.readP99Ms} ms`,
    `${seconds(c.secretReads.doneP50Ms)} / ${seconds(c.secretReads.doneP99Ms)}`,
    c.kvThrottled,
    `${c.queueThrottled} (reports ${c.queueThrottledBy.reports ?? 0}, account ${c.queueThrottledBy.account ?? 0})`,
    `${c.loss.hostsReported} / ${c.loss.hostsAtGeneration} / ${c.loss.reportsPoisoned} (${c.loss.reportsPoisonedUnfolded} unfolded) + ${c.loss.commandsPoisoned}`,
    c.apiCpuMsPerHost,
  ]);
  return [
    `### ${r.hosts.toLocaleString('en-US')}-host rotation under the services' limits`,
    `Key Vault per 10 s: ${kv.secretOther} secret, ${kv.keyOther} key operations` +
      `${r.kvScale === null ? '' : ` (× ${r.kvScale})`}; queues per second: ${q.queueMessagesPerSecond} ` +
      `messages per queue, ${q.accountRequestsPerSecond} requests per account` +
      `${r.queueScale === null ? '' : ` (× ${r.queueScale})`}. Nothing lost: ${r.nothingLost ? 'yes' : '**no**'}.`,
    '',
    markdownTable(
      [
        'change',
        'request → 202',
        'p50',
        'p99',
        'operation done',
        'KV reads first → last',
        'read p50 / p99 per host',
        'request → read done p50 / p99',
        'KV 429s',
        'queue 503s',
        'reported / at generation / poisoned (reports + commands)',
        'API CPU ms/host',
      ],
      rows,
    ),
  ].join('\n');
}
