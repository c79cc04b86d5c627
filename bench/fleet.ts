/**
 * Benchmark 1 — fleet convergence (and the local host's memory under it).
 *
 * N in-process agents (bench/support/fleet.ts) against Azurite and the local host, each in its
 * own process. For each change — enable, a path-only change, a password rotation, disable —
 * it measures, from the moment the API answered 202:
 *
 * - every host's time to its final report (the `apply` result sent to the reports queue), and
 *   the time the operation was recorded as finished by the API;
 * - the share of each host's time spent waiting for its next poll (a command's `issuedAt` →
 *   the receive that returned it, over both round trips);
 * - storage requests per host caused by the change, the agent's and the API's: all requests
 *   in a window from just before the request to a settle time after the last report, minus
 *   what idle polling would have cost in that window (see measureChange);
 * - Key Vault reads per host, per secret, counted at the agents (and the vault's own count),
 *   and how long they took across the fleet (bench/support/change-checks.ts);
 * - the CPU each process spent in the window (the local host's, per host: `API CPU ms/host`);
 * - under the services' limits, the 429s and 503s served, and that nothing was lost.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { TableClient } from '@azure/data-tables';
import { createShareAccount } from '../agent/backends/simulated.js';
import { TABLE_NAMES } from '../shared/adapters/table-support.js';
import { countStorageRequests, diffCounts, total, type Counts } from './support/http-counter.js';
import { measureHostLocalWork, now, fleetEndpoints, startFleet, type Fleet } from './support/fleet.js';
import { startSystem } from './support/system.js';
import type { BenchThrottle } from './support/vault-child.js';
import type { QueueThrottleOptions, QueueThrottleStats } from './support/queue-throttle.js';
import { checkLoss, secretReadStats, type LossCheck, type SecretReadStats } from './support/change-checks.js';
import { mean, p50, p99, round, MB } from './support/stats.js';
import { readFileSync } from 'node:fs';
import { rssSampler } from './support/child.js';

export interface FleetBenchOptions {
  sizes: number[];
  pollMinSeconds?: number;
  pollMaxSeconds?: number;
  /** Azurite queue servers, sharded by queue name (bench/support/azurite-child.ts). */
  queueShards?: number;
  /**
   * Key Vault's documented rate limits on the local vault (`{ scale: 0.1 }`: the share of a
   * 10-fold fleet's vault); none when absent.
   */
  keyVaultThrottle?: BenchThrottle;
  /**
   * Queue Storage's scalability targets in front of the queue emulator (`{ scale: 0.1 }`: the
   * share of a 10-fold fleet's account; bench/support/queue-throttle.ts); none when absent.
   */
  queueThrottle?: Omit<QueueThrottleOptions, 'now'>;
  /** Which changes to make, in the standard order (default: all; `enable` must come first). */
  changes?: ChangeKind[];
  /** How long the idle rate is measured before the changes (default max(4 s, 3 × pollMax)). */
  idleWindowMs?: number;
  /** The report trigger's longest idle poll (default: host.json's, as in Azure). */
  reportPollMaxMs?: number;
  /** Emulator processes (bench/support/system.ts); `separate` by default. */
  azurite?: 'separate' | 'combined';
  log?: (line: string) => void;
}

/** `waves`: the same path-only change as `path` (back to the first folder) under a rollout policy. */
export type ChangeKind = 'enable' | 'path' | 'waves' | 'rotate' | 'disable';

export interface ChangeResult {
  change: ChangeKind;
  /** Milliseconds the request itself took (to the 202). */
  requestMs: number;
  /** Host time from the 202 to its final report: p50 / p99 / max across hosts. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** From the 202 to the operation recorded `Succeeded` by the API. */
  operationMs: number;
  operationStatus: string;
  /** The operation's recorded error (JSON), when it has one. */
  operationError?: string;
  /** Commands each host handled for this change (2 = preflight + apply). */
  roundTrips: number;
  /**
   * The share of a host's time spent waiting for its next poll: Σ (receive − command issued) over
   * Σ (final report − its first command issued), over all hosts. (The 202 can come after the
   * first commands went out — at 1,000 hosts the fan-out takes seconds — so each host's own
   * timeline is the base, not the 202.)
   */
  pollShare: number;
  /** Mean per-host wait for the next poll, per round trip (ms). */
  pickupMeanMs: number;
  /** Storage requests per host beyond idle polling. */
  agentOpsPerHost: number;
  apiOpsPerHost: number;
  opsPerHost: number;
  agentBreakdown: Record<string, number>;
  apiBreakdown: Record<string, number>;
  /** Reads of the ccs-id's two password secrets by the agents, per host. */
  kvReadsPerHost: number;
  expectedKvReadsPerHost: number;
  /** Other secrets the agents read (the command-signing key: once per host and key version). */
  otherKvReadsPerHost: number;
  /** Every secret read the local vault served (agents and API), per host. */
  vaultReadsPerHost: number;
  /** Requests the local vault refused with 429 over its rate limits in the window. */
  kvThrottled: number;
  /** Queue requests refused with 503 ServerBusy over the queue's or account's target in the window. */
  queueThrottled: number;
  /** … by budget (queue, account) and by queue kind (reports, commands, other). */
  queueThrottledBy: Record<string, number>;
  /** The agents' Key Vault secret reads in the window: how long they took across the fleet. */
  secretReads: SecretReadStats;
  /** Nothing lost: every host reported and is shown at the new generation, no poison. */
  loss: LossCheck;
  /**
   * CPU seconds each process spent in the window, and what they imply: every request's cost on
   * one machine, and the shortest the window could be on this machine's cores.
   */
  cpu: { fleet: number; host: number; vault: number; queue: number; table: number; total: number };
  /**
   * The local host's CPU in the window per host beyond its idle rate (timers and report-queue
   * polling cost the same with no change going: subtracted, as idle requests are), ms: the API
   * (handlers, report folding) and its clients' work (the Key Vault client's TLS and requests
   * included). The local Key Vault
   * endpoint answering the signs and reads runs in a process of its own (`cpu.vault`), as Key
   * Vault's work is not the Function App's in Azure.
   */
  apiCpuMsPerHost: number;
  requests: number;
  cpuMsPerRequest: number;
  cpuBoundSeconds: number;
  /** Warnings and errors logged by the agents and the host in the window, by message. */
  problems: Record<string, number>;
}

export interface FleetSizeResult {
  hosts: number;
  pollMinSeconds: number;
  pollMaxSeconds: number;
  enrolMs: number;
  /** Idle request rates (API: before and after enabling), subtracted from each change's window. */
  idle: {
    agentOpsPerHostPerSecond: number;
    apiOpsPerSecond: number;
    enabledApiOpsPerSecond: number;
    /** The local host's CPU with no change going (timers, report-queue polling), ms per second. */
    hostCpuMsPerSecond: number;
  };
  changes: ChangeResult[];
  memory: {
    hostPeakMB: number;
    vaultPeakMB: number;
    azuritePeakMB: number;
    fleetPeakMB: number;
    fleetPerHostKB: number;
  };
  hostLocalWork: { canAccessMs: number; verifyPfxMs: number };
}

export interface FleetResult {
  name: 'fleet';
  sizes: FleetSizeResult[];
}

const CCS_ID = 'bench';
export const DEFAULT_QUEUE_SHARDS = 32;
const RESOURCE = `/webserver/centralized-certificates/${CCS_ID}`;

interface Snapshot {
  at: number;
  problems: Counts;
  /** The agents' Key Vault requests (`kv.read.<secret>`), counted in this process. */
  kv: Counts;
  agent: Counts;
  api: Counts;
  vault: Record<string, number>;
  /** CPU seconds used so far by each process: fleet (this one), host, local vault, queue and table emulators. */
  cpu: { fleet: number; host: number; vault: number; queue: number; table: number };
  /** The queue throttle's counts so far (null without one). */
  queueThrottle: QueueThrottleStats | null;
}

const cpuSeconds = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6;

async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => boolean | Promise<boolean>,
  everyMs = 25,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

export async function runFleetSize(
  size: number,
  options: Omit<FleetBenchOptions, 'sizes'> = {},
): Promise<FleetSizeResult> {
  const log = options.log ?? (() => {});
  const pollMinSeconds = options.pollMinSeconds ?? 0.2;
  const pollMaxSeconds = options.pollMaxSeconds ?? 2;
  // After activity the backoff runs 0, min, 2·min, … up to max: this long covers it.
  const settleMs = Math.ceil(backoffSettleSeconds(pollMinSeconds, pollMaxSeconds) * 1000) + 500;
  const queueShards = options.queueShards ?? DEFAULT_QUEUE_SHARDS;
  const system = await startSystem({
    preflightTimeoutSeconds: 120,
    operationTimeoutSeconds: 600,
    queueShards,
    reportPollMaxMs: options.reportPollMaxMs,
    azurite: options.azurite,
    keyVaultThrottle: options.keyVaultThrottle,
    queueThrottle: options.queueThrottle,
  });
  const combined = system.queueChild === system.tableChild;
  const counter = countStorageRequests({
    ...system.endpoints,
    kvPort: Number(new URL(system.host.vaultUrl).port),
  });
  const fleetRss = rssSampler();
  let fleet: Fleet | undefined;
  try {
    // A second folder for the path-only change, with the same certificates.
    const v2 = join(system.share.folder, 'v2');
    mkdirSync(v2, { recursive: true });
    for (const file of readdirSync(system.share.folder).filter((f) => f.endsWith('.pfx'))) {
      copyFileSync(join(system.share.folder, file), join(v2, file));
    }
    const firstPfx = readdirSync(system.share.folder).find((f) => f.endsWith('.pfx'))!;
    const hostLocalWork = await measureHostLocalWork(
      system.shareRoot,
      system.share.path,
      system.share.username,
      system.share.password,
      readFileSync(join(system.share.folder, firstPfx)),
      system.share.privateKeyPassword,
    );
    const ops = TableClient.fromConnectionString(system.endpoints.connectionString, TABLE_NAMES.operations, {
      allowInsecureConnection: true,
    });

    await system.resetHost();
    fleetRss.reset();
    const started = now();
    fleet = await startFleet({
      size,
      ccsId: CCS_ID,
      ...fleetEndpoints(system),
      pollMinSeconds,
      pollMaxSeconds,
      // No periodic hello or drift check during the run: idle cost is benchmark 2's subject.
      helloIntervalSeconds: 86_400,
      driftIntervalSeconds: 86_400,
      visibilityTimeoutSeconds: 30,
      staggerMs: pollMaxSeconds * 1000,
    });
    const running = fleet;
    await waitUntil(
      'every host to enrol',
      120_000 + size * 100,
      async () => {
        const res = await system.api('GET', `${RESOURCE}/hosts`);
        const body = (await res.json()) as { hosts?: unknown[] };
        return (body.hosts?.length ?? 0) >= size;
      },
      size >= 100 ? 500 : 100,
    );
    const enrolMs = now() - started;
    log(`  ${size} hosts enrolled in ${(enrolMs / 1000).toFixed(1)} s`);

    const snapshot = async (): Promise<Snapshot> => {
      const counts = counter.snapshot();
      const [stats, queueCpu, tableCpu, queueThrottle] = await Promise.all([
        system.hostStats(),
        system.queueChild.call<NodeJS.CpuUsage>('cpu'),
        combined ? { user: 0, system: 0 } : system.tableChild.call<NodeJS.CpuUsage>('cpu'),
        system.queueChild.call<QueueThrottleStats | null>('throttle'),
      ]);
      return {
        at: now(),
        problems: stats.problems,
        kv: Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith('kv.'))),
        agent: onlyAgent(counts),
        api: stats.counts,
        vault: stats.vault,
        cpu: {
          fleet: cpuSeconds(process.cpuUsage()),
          host: cpuSeconds(stats.cpu),
          vault: cpuSeconds(stats.vaultCpu),
          queue: cpuSeconds(queueCpu),
          table: cpuSeconds(tableCpu),
        },
        queueThrottle,
      };
    };
    // Idle rate: once every agent has backed off to its idle poll interval. Measured again once
    // enabled: the API's timers (sweeper, inventory scheduler) do more for an enabled ccs-id.
    const measureIdle = async () => {
      await delay(settleMs);
      const from = await snapshot();
      await delay(options.idleWindowMs ?? Math.max(4000, pollMaxSeconds * 3000));
      const to = await snapshot();
      const seconds = (to.at - from.at) / 1000;
      return {
        agentOpsPerHostPerSecond: total(diffCounts(to.agent, from.agent)) / size / seconds,
        apiOpsPerSecond: total(diffCounts(to.api, from.api)) / seconds,
        hostCpuPerSecond: (to.cpu.host - from.cpu.host) / seconds,
      };
    };
    let idle = await measureIdle();
    const idleDisabled = idle;
    let idleEnabled = idle;

    const changes: ChangeResult[] = [];
    const newPassword = 'Rotated-Pa55-' + String(size);
    const plan: {
      change: ChangeKind;
      expectedKv: number;
      send: () => Promise<Response>;
      before?: () => Promise<void>;
    }[] = [
      {
        change: 'enable',
        expectedKv: 2,
        send: () =>
          system.api('POST', RESOURCE, {
            path: system.share.path,
            identity: { username: system.share.username, password: system.share.password },
            private_key_password: system.share.privateKeyPassword,
          }),
      },
      {
        change: 'path',
        expectedKv: 0,
        send: () => system.api('PATCH', RESOURCE, { path: `${system.share.path}\\v2` }),
      },
      {
        // Issue 19: a 10% canary, then waves of 25% of the fleet, no bake time (docs/rollouts.md).
        change: 'waves',
        expectedKv: 0,
        send: () =>
          system.api('PATCH', RESOURCE, {
            path: system.share.path,
            rollout: { canary: Math.max(1, Math.round(size / 10)), max_concurrency: '25%' },
          }),
      },
      {
        change: 'rotate',
        expectedKv: 1,
        // The account's password changes first (as in Active Directory), then the fleet's.
        before: () => createShareAccount(system.shareRoot, system.share.username, newPassword, ['ccs']),
        send: () => system.api('PATCH', RESOURCE, { identity: { password: newPassword } }),
      },
      { change: 'disable', expectedKv: 0, send: () => system.api('DELETE', RESOURCE) },
    ];
    const wanted = options.changes ?? plan.map((p) => p.change);
    for (const step of plan.filter((p) => wanted.includes(p.change))) {
      await step.before?.();
      const result = await measureChange(step.change, step.expectedKv, step.send, {
        size,
        fleet: running,
        ops,
        snapshot,
        idle,
        settleMs,
        pollMaxSeconds,
        log,
        loss: (generation, reported) =>
          checkLoss(
            (method, path) => system.api(method, path),
            RESOURCE,
            system.endpoints.connectionString,
            generation,
            reported,
          ),
      });
      changes.push(result);
      if (result.operationStatus !== 'Succeeded') {
        const worst = Object.entries(result.problems)
          .sort((x, y) => y[1] - x[1])
          .slice(0, 5);
        log(
          `  ${step.change} ended ${result.operationStatus}; secret read failures ${JSON.stringify(result.secretReads.failures)}`,
        );
        for (const [problem, n] of worst) log(`    ${n} × ${problem}`);
        // Nothing after a failed enable can be measured: the fleet is not enabled.
        if (step.change === 'enable') break;
      }
      if (step.change === 'enable') idleEnabled = idle = await measureIdle();
      log(
        `  ${step.change}: p50 ${(result.p50Ms / 1000).toFixed(2)} s, p99 ${(result.p99Ms / 1000).toFixed(2)} s, ` +
          `${result.opsPerHost.toFixed(1)} ops/host (agent ${result.agentOpsPerHost.toFixed(1)}), ` +
          `KV ${result.kvReadsPerHost.toFixed(2)}/host, ${result.kvThrottled} KV 429s, ` +
          `${result.queueThrottled} queue 503s`,
      );
    }
    const host = await system.hostStats();
    const queueRss = await system.queueChild.call<{ peak: number }>('rss');
    const tableRss = combined ? { peak: 0 } : await system.tableChild.call<{ peak: number }>('rss');
    return {
      hosts: size,
      pollMinSeconds,
      pollMaxSeconds,
      enrolMs: Math.round(enrolMs),
      idle: {
        agentOpsPerHostPerSecond: round(idleDisabled.agentOpsPerHostPerSecond, 3),
        apiOpsPerSecond: round(idleDisabled.apiOpsPerSecond, 2),
        enabledApiOpsPerSecond: round(idleEnabled.apiOpsPerSecond, 2),
        hostCpuMsPerSecond: round(idleDisabled.hostCpuPerSecond * 1000, 1),
      },
      changes,
      memory: {
        hostPeakMB: round(host.rssPeak / MB, 1),
        vaultPeakMB: round(host.vaultRssPeak / MB, 1),
        azuritePeakMB: round((queueRss.peak + tableRss.peak) / MB, 1),
        fleetPeakMB: round(fleetRss.peak() / MB, 1),
        fleetPerHostKB: round(fleetRss.peak() / 1024 / size, 1),
      },
      hostLocalWork: {
        canAccessMs: round(hostLocalWork.canAccessMs, 1),
        verifyPfxMs: round(hostLocalWork.verifyPfxMs, 2),
      },
    };
  } finally {
    await fleet?.stop();
    counter.stop();
    fleetRss.stop();
    await system.close();
  }
}

/** Seconds from a handled message until the backoff is back at its idle maximum. */
export function backoffSettleSeconds(min: number, max: number): number {
  let sum = 0;
  for (let d = min; d < max; d *= 2) sum += d;
  return sum + max;
}

function prefixed(prefix: string, counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix} ${k}`, v]));
}

function onlyAgent(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith('agent.')));
}

async function measureChange(
  change: ChangeKind,
  expectedKv: number,
  send: () => Promise<Response>,
  ctx: {
    size: number;
    fleet: Fleet;
    ops: TableClient;
    snapshot: () => Promise<Snapshot>;
    idle: { agentOpsPerHostPerSecond: number; apiOpsPerSecond: number; hostCpuPerSecond: number };
    settleMs: number;
    pollMaxSeconds: number;
    log: (line: string) => void;
    /** The API's and the queues' side of "nothing lost", asked once the change has settled. */
    loss: (generation: number, hostsReported: number) => Promise<LossCheck>;
  },
): Promise<ChangeResult> {
  const { size, fleet } = ctx;
  const firstEvent = fleet.events.length;
  fleet.problems.reset();
  const before = await ctx.snapshot();
  const requestStart = now();
  const response = await send();
  const t202 = now();
  const body = (await response.json()) as { generation?: number; id?: string };
  if (response.status !== 202 || body.generation === undefined || body.id === undefined) {
    throw new Error(
      `${change}: expected 202 with an operation, got ${response.status} ${JSON.stringify(body)}`,
    );
  }
  const generation = body.generation;
  const operationId = body.id;
  const finals = new Map<string, number>();
  let lastLog = now();
  type OperationRow = { status: string; updatedAt: string; phase?: string; error?: string };
  let operation: OperationRow = { status: 'Running', updatedAt: '' };
  const ended = () => operation.status !== 'Running' && operation.status !== 'NotStarted';
  let endedAt: number | undefined;
  // Every host's apply report, unless the operation ends without them (a failed fan-out under
  // throttling): then what arrived within a settle time after its end is what there is.
  // Under the services' scaled limits a 1,000-host change needs minutes on a loaded machine.
  await waitUntil(`every host's ${change} report`, Math.max(300_000, size * 600), async () => {
    for (let i = firstEvent; i < fleet.events.length; i++) {
      const e = fleet.events[i]!;
      if (e.kind === 'report' && e.type === 'result' && e.phase === 'apply' && e.generation >= generation) {
        if (!finals.has(e.host)) finals.set(e.host, e.at);
      }
    }
    if (finals.size >= size) return true;
    if (now() - lastLog > 10_000) {
      lastLog = now();
      operation = await ctx.ops.getEntity<OperationRow>(operationId, 'op');
      const preflights = fleet.events
        .slice(firstEvent)
        .filter((e) => e.kind === 'report' && e.phase === 'preflight' && e.generation >= generation).length;
      ctx.log(
        `    ${change}: ${finals.size}/${size} hosts reported after ${((lastLog - t202) / 1000).toFixed(0)} s ` +
          `(${preflights} preflight reports; operation ${operation.status} ${operation.phase ?? ''})`,
      );
      if (ended()) endedAt ??= now();
    }
    return endedAt !== undefined && now() - endedAt > ctx.settleMs;
  });
  if (finals.size < size) {
    ctx.log(
      `    ${change}: the operation ended ${operation.status} with ${finals.size}/${size} hosts reported`,
    );
    ctx.log(`    ${change}: its error: ${operation.error ?? 'none'}`);
  }
  const lastReport = finals.size ? Math.max(...finals.values()) : now();
  ctx.log(
    `    ${change}: ${finals.size} of ${size} hosts reported after ${((lastReport - t202) / 1000).toFixed(1)} s`,
  );
  await waitUntil(
    `operation ${operationId} to finish`,
    300_000,
    async () => {
      operation = await ctx.ops.getEntity<OperationRow>(operationId, 'op');
      return ended();
    },
    100,
  ).catch(() => ctx.log(`    ${change}: operation still ${operation.status} 300 s after the last report`));
  await delay(Math.max(0, lastReport + ctx.settleMs - now()));
  const after = await ctx.snapshot();
  const loss = await ctx.loss(generation, finals.size);
  const seconds = (after.at - before.at) / 1000;

  const times = [...finals.values()].map((t) => t - t202);
  // Pickup: from a command's issue to the receive that returned it, per host and round trip.
  let pickupTotal = 0;
  let pickups = 0;
  const trips = new Map<string, Set<string>>();
  const firstIssued = new Map<string, number>();
  for (let i = firstEvent; i < fleet.events.length; i++) {
    const e = fleet.events[i]!;
    // The change's own commands (the elected host may also get a scan in the window).
    if (e.kind !== 'receive' || e.generation !== generation) continue;
    if (e.type !== 'preflight' && e.type !== 'apply') continue;
    pickupTotal += Math.max(0, e.at - e.issuedAt);
    pickups++;
    firstIssued.set(e.host, Math.min(firstIssued.get(e.host) ?? e.issuedAt, e.issuedAt));
    let set = trips.get(e.host);
    if (!set) trips.set(e.host, (set = new Set()));
    set.add(e.type);
  }
  let spans = 0;
  for (const [host, final] of finals) spans += Math.max(0, final - (firstIssued.get(host) ?? t202));
  const agentDiff = diffCounts(after.agent, before.agent);
  const apiDiff = diffCounts(after.api, before.api);
  // Idle polling is one receive after each idle interval's sleep. A receive the agent sent after
  // a shorter sleep — the poll at once after handling a command, the fast polls between a passed
  // preflight and its apply — is one the change brought forward: it counts as the change's, as
  // does every other agent request (delete, report, visibility update). Classifying each receive
  // by its own sleep holds under load, when receives and command handling take seconds and the
  // idle rhythm stretches (estimating the idle count from the window's length did not: it
  // counted the time a host spent handling commands as idle polls it would have made).
  const pollMaxMs = ctx.pollMaxSeconds * 1000;
  let broughtForward = 0;
  for (const host of fleet.hosts) {
    const times = fleet.receives.get(host) ?? [];
    const sleeps = fleet.receiveSleeps.get(host) ?? [];
    for (let i = 1; i < times.length; i++) {
      if (times[i]! < before.at || times[i]! > after.at) continue;
      if (sleeps[i]! < 0.9 * pollMaxMs) broughtForward++;
    }
  }
  const agentOps = total(agentDiff) - (agentDiff['agent.queue.receive'] ?? 0) + broughtForward;
  const apiOps = total(apiDiff) - ctx.idle.apiOpsPerSecond * seconds;
  // Key Vault reads of the fleet's secrets by the agents (the vault's own count of every read,
  // API included, is kept too), and of the command-signing key (once per host and key version).
  const kvDiff = diffCounts(after.kv, before.kv);
  const kvReads = (kvDiff['kv.read.identity-password'] ?? 0) + (kvDiff['kv.read.private-key-password'] ?? 0);
  const signingKeyReads = total(kvDiff, 'kv.read.') - kvReads;
  const vaultReads = (after.vault.getSecret ?? 0) - (before.vault.getSecret ?? 0);
  const cpu = {
    fleet: after.cpu.fleet - before.cpu.fleet,
    host: after.cpu.host - before.cpu.host,
    vault: after.cpu.vault - before.cpu.vault,
    queue: after.cpu.queue - before.cpu.queue,
    table: after.cpu.table - before.cpu.table,
  };
  const cpuTotal = cpu.fleet + cpu.host + cpu.vault + cpu.queue + cpu.table;
  const requests = total(agentDiff) + total(apiDiff);
  const perHost = (counts: Counts) =>
    Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / size, 2)]));
  return {
    change,
    requestMs: Math.round(t202 - requestStart),
    p50Ms: Math.round(p50(times)),
    p99Ms: Math.round(p99(times)),
    maxMs: Math.round(Math.max(...times)),
    operationMs: Math.round(Date.parse(operation.updatedAt) - t202),
    operationStatus: operation.status,
    ...(operation.error ? { operationError: operation.error } : {}),
    roundTrips: round(mean([...trips.values()].map((s) => s.size)), 2),
    pollShare: round(pickupTotal / spans, 2),
    pickupMeanMs: Math.round(pickups ? pickupTotal / pickups : 0),
    agentOpsPerHost: round(agentOps / size, 2),
    apiOpsPerHost: round(apiOps / size, 2),
    opsPerHost: round((agentOps + apiOps) / size, 2),
    agentBreakdown: perHost(agentDiff),
    apiBreakdown: perHost(apiDiff),
    kvReadsPerHost: round(kvReads / size, 2),
    expectedKvReadsPerHost: expectedKv,
    otherKvReadsPerHost: round(signingKeyReads / size, 2),
    vaultReadsPerHost: round(vaultReads / size, 2),
    kvThrottled: (after.vault.throttled ?? 0) - (before.vault.throttled ?? 0),
    ...queueRefusals(before.queueThrottle, after.queueThrottle),
    secretReads: secretReadStats(fleet.secretReads, requestStart, after.at),
    loss,
    cpu: {
      fleet: round(cpu.fleet, 1),
      host: round(cpu.host, 1),
      vault: round(cpu.vault, 1),
      queue: round(cpu.queue, 1),
      table: round(cpu.table, 1),
      total: round(cpuTotal, 1),
    },
    apiCpuMsPerHost: round((Math.max(0, cpu.host - ctx.idle.hostCpuPerSecond * seconds) * 1000) / size, 2),
    requests,
    cpuMsPerRequest: round((cpuTotal * 1000) / requests, 2),
    cpuBoundSeconds: round(cpuTotal / availableParallelism(), 1),
    problems: {
      ...prefixed('agent', fleet.problems.counts()),
      ...prefixed('host', diffCounts(after.problems, before.problems)),
    },
  };
}

/** The 503s the queue throttle served between two snapshots, in all and by budget and queue kind. */
function queueRefusals(
  before: QueueThrottleStats | null,
  after: QueueThrottleStats | null,
): Pick<ChangeResult, 'queueThrottled' | 'queueThrottledBy'> {
  if (!before || !after) return { queueThrottled: 0, queueThrottledBy: {} };
  const by = diffCounts(
    { ...after.refused, ...after.refusedByKind },
    { ...before.refused, ...before.refusedByKind },
  );
  return { queueThrottled: (by.queue ?? 0) + (by.account ?? 0), queueThrottledBy: by };
}

export async function runFleet(options: FleetBenchOptions): Promise<FleetResult> {
  const sizes: FleetSizeResult[] = [];
  for (const size of options.sizes) {
    options.log?.(`fleet: ${size} hosts`);
    sizes.push(await runFleetSize(size, options));
  }
  return { name: 'fleet', sizes };
}
