/** Every store of shared/ports.ts over Table storage: what the Function App runs on. */
import type { Stores } from '../ports.js';
import type { StorageClients } from './storage.js';
import { TableAuditRepository } from './table-audit.js';
import { TableBindingsRepository } from './table-bindings.js';
import { TableServingRepository } from './table-serving.js';
import { TableDesiredStateRepository } from './table-desired-state.js';
import { TableEnrolmentRepository } from './table-enrolment.js';
import { TableHostRepository } from './table-hosts.js';
import { TableInventoryRepository } from './table-inventory.js';
import { TableOperationRepository } from './table-operations.js';
import { TableRateLimitRepository } from './table-rate-limits.js';
import { TableRolloutPolicyRepository } from './table-rollout-policies.js';
import { TablePublishingRepository } from './table-publishing.js';
import { LazyTable, TABLE_NAMES } from './table-support.js';

export function createTableStores(storage: Pick<StorageClients, 'table'>): Stores {
  const table = (name: keyof typeof TABLE_NAMES) => new LazyTable(storage, TABLE_NAMES[name]);
  return {
    desired: new TableDesiredStateRepository(table('desired')),
    hosts: new TableHostRepository(table('hosts')),
    operations: new TableOperationRepository(table('operations')),
    audit: new TableAuditRepository(table('audit')),
    inventory: new TableInventoryRepository(table('inventory')),
    bindings: new TableBindingsRepository(table('bindings')),
    serving: new TableServingRepository(table('serving')),
    enrolment: new TableEnrolmentRepository(table('enrolment')),
    rateLimits: new TableRateLimitRepository(table('rateLimits')),
    rollouts: new TableRolloutPolicyRepository(table('desired')),
    publishing: new TablePublishingRepository(table('publishing')),
  };
}
