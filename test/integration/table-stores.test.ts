/** The Table storage adapters against Azurite: the same contracts the in-memory stand-ins meet. */
import { TableClient } from '@azure/data-tables';
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('a storage blip at cold start', () => {
  it('fails the call that met it and creates the table on the next one', async () => {
    // The first CreateTable request of each table fails as a reset connection would.
    let blips = 0;
    const blip: PipelinePolicy = {
      name: 'cold-start-blip',
      sendRequest: (request, next) => {
        if (request.method === 'POST' && /\/Tables(\?|$)/.test(request.url) && blips++ === 0) {
          return Promise.reject(new RestError('socket hang up', { code: 'ECONNRESET' }));
        }
        return next(request);
      },
    };
    const blippy = createTableStores({
      table: (name) =>
        TableClient.fromConnectionString(azurite.connectionString, name, {
          allowInsecureConnection: true,
          retryOptions: { maxRetries: 0 },
          additionalPolicies: [{ policy: blip, position: 'perCall' }],
        }),
    });
    await expect(blippy.desired.get('cold')).rejects.toThrow('socket hang up');
    expect(await blippy.desired.get('cold')).toBeNull();
    expect(blips).toBe(2);
  });
});
