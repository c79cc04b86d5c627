/** Markdown tables and the target check for the benchmark results. */
import type { ApiResult } from './api.js';
import type { FleetResult } from './fleet.js';
import type { ThrottledResult } from './throttled.js';
import { throttledMarkdown } from './throttled.js';
import { markdownTable as table, seconds as s } from './support/stats.js';
import type { IdleResult } from './idle.js';
import type { InventoryResult } from './inventory.js';

export interface MemoryResult {
  name: 'memory';
  /** The local host (API, report processor, sweeper) under the largest fleet run. */
  host: { hosts: number; peakMB: number } | null;
  /** The local Key Vault endpoint under that run. */
  vault: { peakMB: number } | null;
  /** The process playing that fleet's agents (all of them), per agent. */
  fleet: { hosts: number; peakMB: number; perHostKB: number } | null;
  /** The storage emulator processes under that run. */
  azurite: { peakMB: number } | null;
  /** One agent with the inventory of `files` certificates. */
  agent: { files: number; peakMB: number; perFileKB: number } | null;
}

export interface Results {
  fleet?: FleetResult;
  idle?: IdleResult;
  api?: ApiResult;
  inventory?: InventoryResult;
  throttled?: ThrottledResult;
  memory?: MemoryResult;
}

export function memoryOf(results: Results): MemoryResult {
  const largest = results.fleet?.sizes.reduce<FleetResult['sizes'][number] | undefined>(
    (max, r) => (max === undefined || r.hosts > max.hosts ? r : max),
    undefined,
  );
  return {
    name: 'memory',
    host: largest ? { hosts: largest.hosts, peakMB: largest.memory.hostPeakMB } : null,
    vault: largest ? { peakMB: largest.memory.vaultPeakMB } : null,
    fleet: largest
      ? { hosts: largest.hosts, peakMB: largest.memory.fleetPeakMB, perHostKB: largest.memory.fleetPerHostKB }
      : null,
    azurite: largest ? { peakMB: largest.memory.azuritePeakMB } : null,
    agent: results.inventory
      ? {
          files: results.inventory.files,
          peakMB: results.inventory.memory.peakMB,
          perFileKB: results.inventory.memory.perFileKB,
        }
      : null,
  };
}

export function markdown(results: Results): string {
  const out: string[] = [];
  if (results.fleet) {
    out.push('### 1. Fleet convergence');
    const rows: (string | number)[][] = [];
    for (const size of results.fleet.sizes) {
      for (const c of size.changes) {
        rows.push([
          size.hosts,
          c.change,
          `${c.requestMs} ms`,
          s(c.p50Ms),
          s(c.p99Ms),
          s(c.operationMs),
          c.roundTrips,
          c.pollShare,
          c.agentOpsPerHost,
          c.apiOpsPerHost,
          `${c.kvReadsPerHost} (${c.expectedKvReadsPerHost})`,
          c.kvThrottled,
          c.queueThrottled,
          c.apiCpuMsPerHost,
          `${c.cpu.total} s / ${c.cpuBoundSeconds} s`,
        ]);
      }
    }
    out.push(
      `Poll ${results.fleet.sizes[0]?.pollMinSeconds ?? '?'}–${results.fleet.sizes[0]?.pollMaxSeconds ?? '?'} s. ` +
        'Times from the 202 to each host’s final report (p50/p99 across hosts) and to the operation’s end.',
      '',
      table(
        [
          'hosts',
          'change',
          'request → 202',
          'p50',
          'p99',
          'operation done',
          'round trips',
          'poll share',
          'agent ops/host',
          'API ops/host',
          'KV reads/host (expected)',
          'KV 429s',
          'queue 503s',
          'API CPU ms/host',
          'CPU used / CPU-bound time',
        ],
        rows,
      ),
    );
  }
  if (results.throttled) out.push('', throttledMarkdown(results.throttled));
  if (results.idle) {
    const r = results.idle;
    out.push(
      '',
      '### 2. Idle cost',
      `Defaults: poll ${r.settings.pollMinSeconds}–${r.settings.pollMaxSeconds} s, hello ${r.settings.helloIntervalSeconds} s; ` +
        `${r.hosts} hosts, ${r.simulatedHours} h simulated at ${r.scale}×.`,
      '',
      table(
        [
          'requests/host/hour',
          'agent (receives + hellos)',
          'API (per hello)',
          'worst pickup',
          'worst two-phase',
          'USD per 1,000 hosts/month',
        ],
        [
          [
            r.requestsPerHostHour,
            `${r.agent.requests} (${r.agent.receives} + ${r.agent.hellos})`,
            `${r.api.requests} (${r.api.perHello})`,
            `${r.pickup.maxGapSeconds} s`,
            `${r.pickup.worstTwoPhaseSeconds} s`,
            `$${r.costPer1000HostsMonth.usd.total}`,
          ],
        ],
      ),
    );
  }
  if (results.api) {
    out.push(
      '',
      '### 3. API overhead',
      `${results.api.hosts} enrolled hosts; API latency ÷ the bare storage/Key Vault calls of the handler. ` +
        `HTTP round trip alone (404 before any handler): ${results.api.transport
          .map((t) => `${t.p50Ms} ms p50 at ${t.concurrency}`)
          .join(', ')}.`,
      '',
      table(
        [
          'request',
          'concurrency',
          'API p50 / p99',
          'bare p50 / p99',
          'ratio p50',
          'ratio p99',
          'storage requests (API / bare)',
        ],
        results.api.rows.map((r) => [
          r.request,
          r.concurrency,
          `${r.api.p50Ms} / ${r.api.p99Ms} ms`,
          `${r.bare.p50Ms} / ${r.bare.p99Ms} ms`,
          `${r.ratioP50}×`,
          `${r.ratioP99}×`,
          `${r.storageRequestsPerCall.api} / ${r.storageRequestsPerCall.bare}`,
        ]),
      ),
    );
  }
  if (results.inventory) {
    const r = results.inventory;
    out.push(
      '',
      '### 4. Inventory',
      `${r.files} PFX files, ${r.encoding}.`,
      '',
      table(
        [
          'limit (read + PBKDF2 + AES)',
          'full scan',
          'ratio',
          'unchanged rescan',
          'after restart',
          `${r.changed.changedFiles} changed`,
        ],
        [
          [
            s(r.limit.ms),
            s(r.fullScan.ms),
            `${r.fullScan.ratio}×`,
            s(r.unchanged.ms),
            s(r.unchangedAfterRestart.ms),
            `${s(r.changed.ms)} (${r.changed.parsed} parsed)`,
          ],
        ],
      ),
    );
  }
  const memory = results.memory;
  if (memory && (memory.host || memory.agent)) {
    const rows: (string | number)[][] = [];
    if (memory.host) rows.push([`local host, ${memory.host.hosts}-host run`, `${memory.host.peakMB} MB`]);
    if (memory.vault) rows.push(['local Key Vault endpoint, same run', `${memory.vault.peakMB} MB`]);
    if (memory.fleet)
      rows.push([
        `${memory.fleet.hosts} simulated agents (one process)`,
        `${memory.fleet.peakMB} MB (${memory.fleet.perHostKB} KB each)`,
      ]);
    if (memory.azurite) rows.push(['Azurite (queue + table)', `${memory.azurite.peakMB} MB`]);
    if (memory.agent)
      rows.push([
        `one agent, ${memory.agent.files} certificates inventoried`,
        `${memory.agent.peakMB} MB (${memory.agent.perFileKB} KB per file)`,
      ]);
    out.push('', '### 5. Memory (peak RSS)', '', table(['process', 'peak RSS'], rows));
  }
  const checks = targets(results);
  if (checks.length > 0) {
    out.push(
      '',
      '### Targets',
      '',
      table(
        ['target', 'measured', 'met'],
        checks.map((c) => [c.target, c.measured, c.met ? 'yes' : '**no**']),
      ),
    );
  }
  return out.join('\n');
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export function targets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const fleet = results.fleet;
  if (fleet) {
    const largest = fleet.sizes.reduce((a, b) => (b.hosts > a.hosts ? b : a), fleet.sizes[0]!);
    const worst = Math.max(...largest.changes.map((c) => c.p99Ms));
    checks.push({
      target: `p99 ≤ 10 s at N = ${largest.hosts} (fast poll)`,
      measured: s(worst),
      met: worst <= 10_000,
    });
    const ops = Math.max(...fleet.sizes.flatMap((r) => r.changes.map((c) => c.agentOpsPerHost)));
    checks.push({
      target: '≤ 8 storage ops per host per change beyond idle polling (agent)',
      measured: `${ops} (worst)`,
      met: ops <= 8,
    });
    const total = Math.max(...fleet.sizes.flatMap((r) => r.changes.map((c) => c.opsPerHost)));
    checks.push({
      target: '… the same, agent + API',
      measured: `${total} (worst)`,
      met: total <= 8,
    });
    const kvOk = fleet.sizes.every((r) =>
      r.changes.every((c) => Math.abs(c.kvReadsPerHost - c.expectedKvReadsPerHost) < 0.05),
    );
    checks.push({
      target: 'KV reads per host = rotated secrets (0 for path-only)',
      measured: kvOk ? 'exact' : 'differs',
      met: kvOk,
    });
  }
  if (results.idle) {
    const r = results.idle;
    checks.push({
      target: '≤ 120 requests/host/hour (agent)',
      measured: String(r.agent.requests),
      met: r.agent.requests <= 120,
    });
    checks.push({
      target: '… the same, agent + API',
      measured: String(r.requestsPerHostHour),
      met: r.requestsPerHostHour <= 120,
    });
    checks.push({
      target: 'pickup ≤ 30 s at idle',
      measured: `${r.pickup.maxGapSeconds} s`,
      met: r.pickup.maxGapSeconds <= 30.5,
    });
  }
  if (results.api) {
    const worst = Math.max(...results.api.rows.map((r) => r.ratioP50));
    checks.push({ target: 'API ≤ 1.5× bare calls at p50', measured: `${worst}× (worst)`, met: worst <= 1.5 });
  }
  if (results.inventory) {
    const r = results.inventory;
    checks.push({
      target: 'full scan ≤ 1.5× the limit',
      measured: `${r.fullScan.ratio}×`,
      met: r.fullScan.ratio <= 1.5,
    });
    checks.push({
      target: 'unchanged rescan ≤ 0.5 s',
      measured: s(r.unchanged.ms),
      met: r.unchanged.ms <= 500,
    });
  }
  return checks;
}
