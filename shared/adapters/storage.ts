/**
 * Storage clients from configuration: a connection string (the local emulator) or
 * identity-based service URIs with a managed identity (Azure) — the Functions convention for
 * `AzureWebJobsStorage`. One set of clients per process.
 */
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';

export type StorageSettings =
  | { connectionString: string }
  | { queueServiceUri: string; tableServiceUri: string; credential: TokenCredential };

export interface StorageClients {
  queues: QueueServiceClient;
  queue(name: string): QueueClient;
  table(name: string): TableClient;
}

export function createStorageClients(settings: StorageSettings): StorageClients {
  if ('connectionString' in settings) {
    const queues = QueueServiceClient.fromConnectionString(settings.connectionString);
    return {
      queues,
      queue: (name) => queues.getQueueClient(name),
      table: (name) =>
        TableClient.fromConnectionString(settings.connectionString, name, {
          // The emulator speaks plain http on loopback.
          allowInsecureConnection: settings.connectionString.includes('http://'),
        }),
    };
  }
  const queues = new QueueServiceClient(settings.queueServiceUri, settings.credential);
  return {
    queues,
    queue: (name) => queues.getQueueClient(name),
    table: (name) => new TableClient(settings.tableServiceUri, name, settings.credential),
  };
}

/** True when an Azure SDK error carries the given HTTP status. */
export function hasStatus(error: unknown, status: number): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === status
  );
}
