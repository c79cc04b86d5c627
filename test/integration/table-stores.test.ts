/** The Table storage adapters against Azurite: the same contracts the in-memory stand-ins meet. */
import { TableClient } from '@azure/data-tables';
import { RestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { createStorageClients } from '../../shared/adapters/storage.js';
import { createTableStores } from '../../shared/adapters/table-stores.js';
import type { Stores } from '../../shared/ports.js';
import { SERVING_HISTORY, type ServingRecord } from '../../shared/bindings/model.js';
import { randomUUID } from 'node:crypto';
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

/** Stores of another "API process" on the same Azurite, counting the serving table's requests. */
function countedStores() {
  const requests: string[] = [];
  const count: PipelinePolicy = {
    name: 'count-serving-requests',
    sendRequest: (request, next) => {
      const url = new URL(request.url);
      if (url.pathname.includes('ccsserving') || url.pathname.endsWith('/$batch'))
        requests.push(`${request.method} ${url.pathname.endsWith('/$batch') ? 'batch' : 'entity'}`);
      return next(request);
    },
  };
  const counted = createTableStores({
    table: (name) =>
      TableClient.fromConnectionString(azurite.connectionString, name, {
        allowInsecureConnection: true,
        additionalPolicies: [{ policy: count, position: 'perCall' }],
      }),
  });
  return { stores: counted, requests };
}

const servingCheck = (ccsId: string, host: string, generation: number, at = 't1'): ServingRecord => ({
  ccsId,
  host,
  generation,
  operationId: null,
  at,
  counts: { ok: 1, mismatch: 0, failed: 0, skipped: 0 },
  results: [],
  omitted: 0,
});

describe('serving checks put together (issue 18)', () => {
  it('cost one transaction per batch of a ccs-id, reading only what the process does not know', async () => {
    const ccsId = `r${randomUUID().slice(0, 8)}`;
    const hosts = Array.from({ length: 16 }, (_, i) => `web-${String(i).padStart(2, '0')}`);
    const a = countedStores();
    await a.stores.serving.latestOfEach('warm-up'); // the table exists
    a.requests.length = 0;
    // A fresh process: one query for the ccs-id's latest rows, then one transaction.
    await Promise.all(hosts.map((h) => a.stores.serving.put(servingCheck(ccsId, h, 1))));
    expect(a.requests).toEqual(['GET entity', 'POST batch']);
    // The next change: the rows are known, their history says what to prune — one request.
    a.requests.length = 0;
    await Promise.all(hosts.map((h) => a.stores.serving.put(servingCheck(ccsId, h, 2))));
    expect(a.requests).toEqual(['POST batch']);
    // Another process writes web-03's latest row: `a`'s batch loses at it, reads it, tries again.
    await stores.serving.put(servingCheck(ccsId, 'web-03', 3, 't2'));
    a.requests.length = 0;
    await Promise.all(hosts.map((h) => a.stores.serving.put(servingCheck(ccsId, h, 3))));
    expect(a.requests).toEqual(['POST batch', 'GET entity', 'POST batch']);
    const latest = await stores.serving.latestOfEach(ccsId);
    expect(latest.map((r) => r.generation)).toEqual(hosts.map(() => 3));
    // Of one generation the later check stays latest (t2), though `a`'s came after it.
    expect(latest.find((r) => r.host === 'web-03')!.at).toBe('t2');
    // Pruning needs no query: past SERVING_HISTORY a put deletes in the same transaction.
    a.requests.length = 0;
    for (let g = 4; g <= SERVING_HISTORY + 3; g++)
      await a.stores.serving.put(servingCheck(ccsId, 'web-00', g));
    expect(new Set(a.requests)).toEqual(new Set(['POST batch']));
    expect(a.requests).toHaveLength(SERVING_HISTORY);
    expect(await stores.serving.latest(ccsId, 'web-00', 3)).toBeNull();
    expect((await stores.serving.latest(ccsId, 'web-00', 4))!.generation).toBe(4);
    expect(await stores.serving.atGeneration(ccsId, 3)).toHaveLength(15);
  });

  it('reads the history of a latest row written before the list existed from the rows', async () => {
    const ccsId = `r${randomUUID().slice(0, 8)}`;
    for (let g = 1; g <= SERVING_HISTORY; g++) await stores.serving.put(servingCheck(ccsId, 'web-01', g));
    // The latest row as the previous version wrote it: no history list.
    const raw = TableClient.fromConnectionString(azurite.connectionString, 'ccsserving', {
      allowInsecureConnection: true,
    });
    const { etag: _etag, history: _history, ...old } = await raw.getEntity(ccsId, 'l|web-01');
    await raw.updateEntity(old as { partitionKey: string; rowKey: string }, 'Replace');
    const a = countedStores();
    await a.stores.serving.put(servingCheck(ccsId, 'web-01', SERVING_HISTORY + 1));
    expect(a.requests).toEqual(['GET entity', 'GET entity', 'POST batch']);
    expect(await stores.serving.latest(ccsId, 'web-01', 1)).toBeNull();
    expect((await stores.serving.latest(ccsId, 'web-01', 2))!.generation).toBe(2);
    // Written back with its list: another fresh process reads one row and writes.
    const b = countedStores();
    await b.stores.serving.put(servingCheck(ccsId, 'web-01', SERVING_HISTORY + 2));
    expect(b.requests).toEqual(['GET entity', 'POST batch']);
    expect(await stores.serving.latest(ccsId, 'web-01', 2)).toBeNull();
    expect((await stores.serving.latest(ccsId, 'web-01'))!.generation).toBe(SERVING_HISTORY + 2);
  });
});
