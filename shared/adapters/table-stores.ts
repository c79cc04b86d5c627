/** Every store of shared/ports.ts over Table storage: what the Function App runs on. */
import type { Stores } from '../ports.js';
import type { StorageClients } from './storage.js';
import { TableAuditRepository } from './table-audit.js';
import { TableDesiredStateRepository } from './table-desired-state.js';
import { TableHostRepository } from './table-hosts.js';
import { TableInventoryRepository } from './table-inventory.js';
import { TableOperationRepository } from './table-operations.js';
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
    publishing: new TablePublishingRepository(table('publishing')),
  };
}
