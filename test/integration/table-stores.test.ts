/** The Table storage adapters against Azurite: the same contracts the in-memory stand-ins meet. */
import { afterAll, beforeAll } from 'vitest';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { createStorageClients } from '../../shared/adapters/storage.js';
import { createTableStores } from '../../shared/adapters/table-stores.js';
import type { Stores } from '../../shared/ports.js';
import { describeStoreContract } from '../support/store-contract.js';

let azurite: AzuriteEndpoints;
let stores: Stores;

beforeAll(async () => {
  azurite = await startAzuriteInProcess();
  stores = createTableStores(createStorageClients({ connectionString: azurite.connectionString }));
});
afterAll(async () => azurite?.close());

describeStoreContract('Table storage', () => stores);
