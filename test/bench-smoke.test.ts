/**
 * Every benchmark of `npm run bench` at a tiny size, so that none of them can rot. Only the
 * shape of the results and the sanity of the counts are checked — never a time: absolute
 * times on a shared machine say nothing.
 */
import { describe, expect, it } from 'vitest';
import { runFleetSize } from '../bench/fleet.js';
import { runIdle } from '../bench/idle.js';
import { runApi } from '../bench/api.js';
import { runInventory } from '../bench/inventory.js';
import { runThrottled } from '../bench/throttled.js';
import { markdown, memoryOf, targets } from '../bench/report.js';

const errorsIn = (problems: Record<string, number>) =>
  Object.keys(problems).filter((k) => / error: /.test(k));

const TINY_FLEET = {
  pollMinSeconds: 0.05,
  pollMaxSeconds: 0.2,
  queueShards: 2,
  idleWindowMs: 500,
  reportPollMaxMs: 200,
  azurite: 'combined',
} as const;

describe.concurrent('benchmarks, smoke size', () => {
  it("a rotation under Key Vault's and the queues' limits: refusals are served, retried, and nothing is lost", async () => {
    // The documented rates scaled down (local/keyvault/throttle.ts with a 1 s window,
    // bench/support/queue-throttle.ts): three hosts' reads, the API's signs and everyone's
    // queue requests overrun them, as a large fleet overruns the real services.
    const r = await runThrottled({
      hosts: 3,
      keyVaultThrottle: { windowMs: 1000, limits: { secretCreate: 2, secretOther: 3, keyOther: 4 } },
      queueThrottle: { limits: { queueMessagesPerSecond: 8, accountRequestsPerSecond: 40 } },
      pollMinSeconds: TINY_FLEET.pollMinSeconds,
      pollMaxSeconds: TINY_FLEET.pollMaxSeconds,
      queueShards: TINY_FLEET.queueShards,
      fleet: TINY_FLEET,
    });
    const changes = r.run.changes;
    expect(changes.map((c) => c.change)).toEqual(['enable', 'rotate']);
    for (const c of changes) {
      expect(c.operationStatus).toBe('Succeeded');
      // A throttled read is sent again, so the agents' count may exceed the secrets that changed.
      expect(c.kvReadsPerHost).toBeGreaterThanOrEqual(c.expectedKvReadsPerHost);
      expect(c.secretReads.hosts).toBe(3);
      expect(c.loss).toEqual({
        hostsReported: 3,
        hostsAtGeneration: 3,
        reportsPoisoned: 0,
        reportsPoisonedUnfolded: 0,
        commandsPoisoned: 0,
        poisoned: [],
      });
      // CPU in the window is measured; the host's, net of its idle rate, may come to 0 at
      // this size (a window spent mostly waiting costs about the idle rate only).
      expect(c.cpu.total).toBeGreaterThan(0);
      expect(c.apiCpuMsPerHost).toBeGreaterThanOrEqual(0);
    }
    expect(r.nothingLost).toBe(true);
    expect(changes.reduce((sum, c) => sum + c.kvThrottled, 0)).toBeGreaterThan(0);
    expect(changes.reduce((sum, c) => sum + c.queueThrottled, 0)).toBeGreaterThan(0);
    const report = markdown({ fleet: { name: 'fleet', sizes: [r.run] }, throttled: r });
    expect(report).toContain('KV 429s | queue 503s | API CPU ms/host');
    expect(report).toContain("3-host rotation under the services' limits");
  }, 180_000);

  it('fleet convergence: five changes (one in waves) reach every host with the expected Key Vault reads', async () => {
    const r = await runFleetSize(3, TINY_FLEET);
    expect(r.hosts).toBe(3);
    expect(r.changes.map((c) => c.change)).toEqual(['enable', 'path', 'waves', 'rotate', 'disable']);
    for (const c of r.changes) {
      expect(c.operationStatus).toBe('Succeeded');
      expect(c.kvReadsPerHost).toBe(c.expectedKvReadsPerHost);
      expect(c.roundTrips).toBe(c.change === 'disable' ? 1 : 2);
      // One command per round trip is deleted and answered by every host (plus the elected scan).
      expect(c.agentBreakdown['agent.queue.delete']).toBeGreaterThanOrEqual(c.roundTrips);
      expect(c.agentBreakdown['agent.queue.send']).toBeGreaterThanOrEqual(c.roundTrips);
      expect(c.apiBreakdown['api.queue.send']).toBeGreaterThanOrEqual(c.roundTrips);
      expect(c.requests).toBeGreaterThan(0);
      expect(c.queueThrottled).toBe(0); // no limits asked for, none enforced
      expect(c.loss.hostsAtGeneration).toBe(3);
      expect(errorsIn(c.problems)).toEqual([]);
      // Batched folding (issue 18): host rows are written only in transactions (never a write
      // per report), and a host's step results are merged into its operation row in transactions
      // too — what is left of the operation's own writes is its record's few saves, and each
      // host's preflight result (written alone, conditionally: a decision once made stands).
      expect(c.apiBreakdown['api.table.write.ccshosts']).toBeUndefined();
      expect(c.apiBreakdown['api.table.batch']).toBeGreaterThan(0);
      if (c.change !== 'waves')
        expect(c.apiBreakdown['api.table.write.ccsoperations'] ?? 0).toBeLessThanOrEqual(3);
      // CPU in the window is measured; the host's, net of its idle rate, may come to 0 at
      // this size (a window spent mostly waiting costs about the idle rate only).
      expect(c.cpu.total).toBeGreaterThan(0);
      expect(c.apiCpuMsPerHost).toBeGreaterThanOrEqual(0);
    }
    expect(r.memory.hostPeakMB).toBeGreaterThan(0);
    expect(r.hostLocalWork.canAccessMs).toBeGreaterThan(0);
    const report = markdown({ fleet: { name: 'fleet', sizes: [r] } });
    expect(report).toContain('| 3 | enable |');
    expect(report).toContain('API CPU ms/host');
  }, 90_000);

  it('idle cost: polls and hellos counted over a simulated stretch, priced', async () => {
    const r = await runIdle({
      hosts: 3,
      scale: 600,
      simulatedSeconds: 900,
      backgroundSeconds: 1,
      reportPollMaxMs: 200,
      azurite: 'combined',
    });
    expect(r.agent.receives).toBeGreaterThan(0);
    expect(r.agent.hellos).toBeGreaterThan(0);
    expect(r.agent.other).toBeLessThan(1);
    expect(r.pickup.maxGapSeconds).toBeGreaterThan(0);
    expect(r.pickup.worstTwoPhaseSeconds).toBeGreaterThan(r.settings.pollMaxSeconds);
    expect(r.costPer1000HostsMonth.usd.total).toBeGreaterThan(0);
    expect(targets({ idle: r }).length).toBeGreaterThan(0);
  }, 90_000);

  it('API overhead: the handler and the bare calls, side by side', async () => {
    const r = await runApi({
      requests: 8,
      concurrency: [1, 4],
      hosts: 3,
      reportPollMaxMs: 200,
      azurite: 'combined',
    });
    expect(r.rows.map((row) => `${row.request}×${row.concurrency}`)).toEqual([
      'GET×1',
      'PATCH path×1',
      'PATCH password×1',
      'GET×4',
      'PATCH path×4',
      'PATCH password×4',
    ]);
    for (const row of r.rows) {
      expect(row.ratioP50).toBeGreaterThan(0);
      // A GET reads the state and the hosts; a PATCH writes at least one command per host.
      expect(row.storageRequestsPerCall.api).toBeGreaterThanOrEqual(row.request === 'GET' ? 2 : 3 + 3);
    }
  }, 90_000);

  it('inventory: full scan parses every file, rescans parse only what changed', async () => {
    const r = await runInventory({ files: 30 });
    expect(r.fullScan.parsed).toBe(30);
    expect(r.unchanged.parsed).toBe(0);
    expect(r.unchanged.reused).toBe(30);
    expect(r.unchangedAfterRestart.parsed).toBe(0);
    expect(r.changed.parsed).toBe(r.changed.changedFiles);
    expect(r.limit.ms).toBeGreaterThan(0);
    expect(r.memory.peakMB).toBeGreaterThan(0);
    expect(memoryOf({ inventory: r }).agent?.files).toBe(30);
    expect(errorsIn(r.problems)).toEqual([]);
  }, 90_000);
});
