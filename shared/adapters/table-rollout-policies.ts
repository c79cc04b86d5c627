/**
 * Rollout policies in Table storage: the `ccsstate` table (no new table to provision), partition
 * `rollout`, one row per ccs-id, the policy as a JSON column. The desired states live in
 * partition `ccs` of the same table and are listed by that partition only.
 */
import type { RolloutPolicy } from '../rollout/policy.js';
import type { RolloutPolicyRepository } from '../ports.js';
import { getOrNull, json, type LazyTable, parse } from './table-support.js';

const PARTITION = 'rollout';

export class TableRolloutPolicyRepository implements RolloutPolicyRepository {
  /** `TABLE_NAMES.desired` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {}

  async get(ccsId: string): Promise<RolloutPolicy | null> {
    const row = await getOrNull(await this.table.ready(), PARTITION, ccsId);
    return row ? parse<RolloutPolicy>(row.policy) : null;
  }

  async put(ccsId: string, policy: RolloutPolicy): Promise<void> {
    const table = await this.table.ready();
    await table.upsertEntity({ partitionKey: PARTITION, rowKey: ccsId, policy: json(policy) }, 'Replace');
  }
}
