import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { queueSettingsFromHostJson, startQueueTrigger } from '../../local/queue-host.js';
import { createStorageClients, type StorageClients } from '../../shared/adapters/storage.js';
import { silentLogger } from '../../shared/log.js';

let azurite: AzuriteEndpoints;
let storage: StorageClients;
let n = 0;

beforeAll(async () => {
  azurite = await startAzuriteInProcess();
  storage = createStorageClients({ connectionString: azurite.connectionString });
});
afterAll(async () => azurite?.close());

describe('the local queue trigger', () => {
  it('reads the Functions queue settings from host.json', () => {
    expect(queueSettingsFromHostJson(join(import.meta.dirname, '../../host.json'))).toMatchObject({
      maxDequeueCount: 5,
      visibilityTimeoutSeconds: 30,
      batchSize: 16,
    });
  });

  it('passes base64 JSON messages parsed, as the Functions host does, and deletes them', async () => {
    const queueName = `qh-${++n}`;
    const seen: unknown[] = [];
    const trigger = startQueueTrigger(
      { name: 'probe', queueName, handler: (m) => Promise.resolve(void seen.push(m)) },
      storage,
      { batchSize: 16, maxDequeueCount: 5, visibilityTimeoutSeconds: 0, maxPollingIntervalMs: 100 },
      silentLogger,
    );
    await trigger.stop();
    await storage.queue(queueName).sendMessage(Buffer.from('{"a":1}').toString('base64'));
    expect(await trigger.drain()).toBe(1);
    expect(seen).toEqual([{ a: 1 }]);
    expect((await storage.queue(queueName).getProperties()).approximateMessagesCount).toBe(0);
  });

  it('retries a failing message and moves it to <queue>-poison after maxDequeueCount attempts', async () => {
    const queueName = `qh-${++n}`;
    let attempts = 0;
    const trigger = startQueueTrigger(
      { name: 'failing', queueName, handler: () => Promise.reject(new Error(`attempt ${++attempts}`)) },
      storage,
      { batchSize: 16, maxDequeueCount: 5, visibilityTimeoutSeconds: 0, maxPollingIntervalMs: 100 },
      silentLogger,
    );
    await trigger.stop();
    await storage.queue(queueName).sendMessage(Buffer.from('{"b":2}').toString('base64'));
    for (let i = 0; i < 6; i++) await trigger.drain();
    expect(attempts).toBe(5);
    const poisoned = await storage.queue(`${queueName}-poison`).receiveMessages();
    expect(poisoned.receivedMessageItems).toHaveLength(1);
    expect((await storage.queue(queueName).getProperties()).approximateMessagesCount).toBe(0);
  });
});
