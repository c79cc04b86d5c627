/**
 * Storage clients from configuration: a connection string (the local emulator) or
 * identity-based service URIs with a managed identity (Azure) — the Functions convention for
 * `AzureWebJobsStorage`. One set of clients per process.
 */
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import { withBusyJitter } from './storage-busy-jitter.js';

export type StorageSettings =
  | { connectionString: string }
  | { queueServiceUri: string; tableServiceUri: string; credential: TokenCredential };

export interface StorageClients {
  queues: QueueServiceClient;
  queue(name: string): QueueClient;
  table(name: string): TableClient;
}

/**
 * Retries sized for a request path: a storage blip of a few seconds is ridden out, a longer
 * outage answers 503 + Retry-After within seconds instead of holding the request (and, in the
 * local host, the report processor) in the SDKs' default backoff for half a minute. Operations
 * carry on from the sweeper and the reports once storage is back. The queue clients' retries of
 * a throttled request (503 ServerBusy) get jitter (storage-busy-jitter.ts).
 */
const QUEUE_RETRY = { maxTries: 4, retryDelayInMs: 300, maxRetryDelayInMs: 3000, tryTimeoutInMs: 30_000 };
const TABLE_RETRY = { maxRetries: 3, retryDelayInMs: 300, maxRetryDelayInMs: 3000 };

export function createStorageClients(settings: StorageSettings): StorageClients {
  if ('connectionString' in settings) {
    const queues = withBusyJitter(
      QueueServiceClient.fromConnectionString(settings.connectionString, { retryOptions: QUEUE_RETRY }),
      QUEUE_RETRY,
    );
    return {
      queues,
      queue: (name) => queues.getQueueClient(name),
      table: (name) =>
        TableClient.fromConnectionString(settings.connectionString, name, {
          // The emulator speaks plain http on loopback.
          allowInsecureConnection: settings.connectionString.includes('http://'),
          retryOptions: TABLE_RETRY,
        }),
    };
  }
  const queues = withBusyJitter(
    new QueueServiceClient(settings.queueServiceUri, settings.credential, { retryOptions: QUEUE_RETRY }),
    QUEUE_RETRY,
  );
  return {
    queues,
    queue: (name) => queues.getQueueClient(name),
    table: (name) =>
      new TableClient(settings.tableServiceUri, name, settings.credential, { retryOptions: TABLE_RETRY }),
  };
}

/** True when an Azure SDK error carries the given HTTP status. */
export function hasStatus(error: unknown, status: number): boolean {
  return isRestError(error) && error.statusCode === status;
}
