/**
 * What the engine reads for the rollout phases (rollout-machine.ts decides): the current wave's
 * hosts — applied, failed or silent — and the serving gate's evidence; the rollback's progress.
 */
import type { OperationHostRecord, OperationRecord } from '../model.js';
import type { ServingRecord } from '../bindings/model.js';
import { eachLimited } from '../each-limited.js';
import type { Stores } from '../ports.js';
import { servingRegressions } from '../rollout/gates.js';
import type { RolloutProgress } from '../rollout/model.js';
import type { FailedHost, RegressedHost, RolloutFacts } from './rollout-machine.js';

type FactStores = Pick<Stores, 'desired' | 'hosts' | 'operations' | 'serving'>;

/** Every host row of the operation in waves `0…last` (the hosts the change was sent to). */
export function rowsUpTo(rows: OperationHostRecord[], last: number): OperationHostRecord[] {
  return rows.filter((r) => r.wave !== undefined && r.wave !== null && r.wave <= last);
}

export async function readRolloutFacts(
  stores: FactStores,
  op: OperationRecord,
  rollout: RolloutProgress,
  now: Date,
): Promise<RolloutFacts> {
  if (op.phase === 'halted') return { phase: 'halted' };
  if (op.phase === 'rollback') return readRollback(stores, op, rollout);
  const wave = rollout.waves[rollout.current];
  if (!wave || wave.settledAt !== null) return { phase: 'waves', silent: [], failed: [], regressed: [] };
  const [rows, hosts] = await Promise.all([stores.operations.hosts(op.id), stores.hosts.list(op.ccsId)]);
  const applied = appliedOf(hosts);
  const waveRows = rows.filter((r) => r.wave === rollout.current);
  const done = waveRows.filter((r) => (applied.get(r.host.toLowerCase()) ?? 0) >= op.targetGeneration);
  const open = waveRows.filter((r) => !done.includes(r));
  const failed: FailedHost[] = open
    .filter((r) => r.apply === 'failed')
    .map((r) => ({ host: r.host, error: r.error }));
  const notApplied = open.filter((r) => r.apply !== 'failed');
  // Before its deadline a wave with a host yet to apply waits, whatever the serving checks say
  // (rollout-machine.ts): they are read once every host applied. Read on every report's advance,
  // two per host applied so far, a wave's reads grew with the square of its size and held up the
  // reports waiting on the advance (docs/performance.md, section 11).
  const timedOut = wave.deadline !== null && now.getTime() >= Date.parse(wave.deadline);
  if (notApplied.length > 0 && !timedOut) {
    return { phase: 'waves', silent: notApplied.map((r) => r.host), failed, regressed: [] };
  }
  const checks = new Map(
    (await stores.serving.atGeneration(op.ccsId, op.targetGeneration)).map((c) => [c.host.toLowerCase(), c]),
  );
  const gates = new Map<OperationHostRecord, RegressedHost['bindings'] | 'pending'>();
  await eachLimited(done, GATE_READS_IN_FLIGHT, async (row) => {
    gates.set(row, await servingGate(stores, op, row.host, checks.get(row.host.toLowerCase()) ?? null));
  });
  const silent: string[] = [];
  const regressed: RegressedHost[] = [];
  // In the wave's host order, as the hosts were read.
  for (const row of waveRows) {
    const gate = gates.get(row) ?? (row.apply === 'failed' ? [] : 'pending');
    if (gate === 'pending') silent.push(row.host);
    else if (gate.length > 0) regressed.push({ host: row.host, bindings: gate });
  }
  return { phase: 'waves', silent, failed, regressed };
}

/** Serving checks read at once for a wave's gate: enough to overlap round trips, not a burst. */
const GATE_READS_IN_FLIGHT = 16;

/**
 * A host's serving gate after it applied: the bindings it lost, or `pending` while the check of
 * this generation (`after`) has not been stored though the host checked before (its result is on
 * its way; the wave's deadline bounds the wait). A host that never sent a check has nothing to
 * compare.
 */
async function servingGate(
  stores: FactStores,
  op: OperationRecord,
  host: string,
  after: ServingRecord | null,
): Promise<RegressedHost['bindings'] | 'pending'> {
  const before = await stores.serving.latest(op.ccsId, host, op.targetGeneration - 1);
  if (!after) return before ? 'pending' : [];
  return servingRegressions(before, after);
}

async function readRollback(
  stores: FactStores,
  op: OperationRecord,
  rollout: RolloutProgress,
): Promise<RolloutFacts> {
  const desired = await stores.desired.get(op.ccsId);
  const generation = rollout.rollback?.generation ?? op.targetGeneration + 1;
  const serving = { ok: 0, mismatch: 0, failed: 0, skipped: 0 };
  const facts = {
    phase: 'rollback' as const,
    desired: desired && { ...desired.record, etag: desired.etag },
    silent: [] as string[],
    failed: [] as FailedHost[],
    servingPending: [] as string[],
    serving,
  };
  if (!rollout.rollback?.sentAt) return facts;
  const [rows, hosts, checks] = await Promise.all([
    stores.operations.hosts(op.id),
    stores.hosts.list(op.ccsId),
    stores.serving.atGeneration(op.ccsId, generation),
  ]);
  const applied = appliedOf(hosts);
  const changed = rowsUpTo(rows, rollout.current);
  const names = new Set(changed.map((r) => r.host.toLowerCase()));
  const checked = new Set(checks.map((c) => c.host.toLowerCase()));
  for (const row of changed) {
    if ((applied.get(row.host.toLowerCase()) ?? 0) >= generation) {
      if (!checked.has(row.host.toLowerCase()) && (await checkedBefore(stores, op, row.host, generation)))
        facts.servingPending.push(row.host);
      continue;
    }
    if (row.apply === 'failed') facts.failed.push({ host: row.host, error: row.error });
    else facts.silent.push(row.host);
  }
  for (const check of checks.filter((c) => names.has(c.host.toLowerCase()))) {
    for (const k of ['ok', 'mismatch', 'failed', 'skipped'] as const) serving[k] += check.counts[k];
  }
  return facts;
}

/** Whether the host sent a serving check before `generation` (a host without sites never does). */
async function checkedBefore(
  stores: FactStores,
  op: OperationRecord,
  host: string,
  generation: number,
): Promise<boolean> {
  return (await stores.serving.latest(op.ccsId, host, generation - 1)) !== null;
}

function appliedOf(hosts: { host: string; appliedGeneration: number }[]): Map<string, number> {
  return new Map(hosts.map((h) => [h.host.toLowerCase(), h.appliedGeneration]));
}
