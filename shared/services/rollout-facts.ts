/**
 * What the engine reads for the rollout phases (rollout-machine.ts decides): the current wave's
 * hosts — applied, failed or silent — and the serving gate's evidence; the rollback's progress.
 */
import type { OperationHostRecord, OperationRecord } from '../model.js';
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
): Promise<RolloutFacts> {
  if (op.phase === 'halted') return { phase: 'halted' };
  if (op.phase === 'rollback') return readRollback(stores, op, rollout);
  const wave = rollout.waves[rollout.current];
  if (!wave || wave.settledAt !== null) return { phase: 'waves', silent: [], failed: [], regressed: [] };
  const [rows, hosts] = await Promise.all([stores.operations.hosts(op.id), stores.hosts.list(op.ccsId)]);
  const applied = appliedOf(hosts);
  const silent: string[] = [];
  const failed: FailedHost[] = [];
  const regressed: RegressedHost[] = [];
  for (const row of rows.filter((r) => r.wave === rollout.current)) {
    if ((applied.get(row.host.toLowerCase()) ?? 0) < op.targetGeneration) {
      if (row.apply === 'failed') failed.push({ host: row.host, error: row.error });
      else silent.push(row.host);
      continue;
    }
    const gate = await servingGate(stores, op, row.host);
    if (gate === 'pending') silent.push(row.host);
    else if (gate.length > 0) regressed.push({ host: row.host, bindings: gate });
  }
  return { phase: 'waves', silent, failed, regressed };
}

/**
 * A host's serving gate after it applied: the bindings it lost, or `pending` while the check of
 * this generation has not been stored though the host checked before (its result is on its way;
 * the wave's deadline bounds the wait). A host that never sent a check has nothing to compare.
 */
async function servingGate(
  stores: FactStores,
  op: OperationRecord,
  host: string,
): Promise<RegressedHost['bindings'] | 'pending'> {
  const [after, before] = await Promise.all([
    stores.serving.latest(op.ccsId, host, op.targetGeneration),
    stores.serving.latest(op.ccsId, host, op.targetGeneration - 1),
  ]);
  if (after?.generation !== op.targetGeneration) return before ? 'pending' : [];
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
