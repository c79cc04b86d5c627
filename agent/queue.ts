/**
 * The agent's view of Storage Queues: its own command queue (receive one message, delete it,
 * move it to poison) and the shared reports queue. Ports first, so the loop is tested with fakes;
 * then the adapters over `@azure/storage-queue`.
 *
 * A received message is never updated (Update Message): the agents' role, Storage Queue Data
 * Message Processor, has no `queues/messages/write`, and granting it would let an agent put
 * messages on any command queue (docs/deploy.md). So a command is received invisible for longer
 * than handling it can take (`visibilityTimeoutSeconds`) and deleted when done.
 */
import { QueueServiceClient, type QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { hasStatus } from '../shared/adapters/storage.js';
import { withBusyJitter } from '../shared/adapters/storage-busy-jitter.js';
import { encodeMessage, type Report } from '../shared/messages.js';
import { commandQueueName, poisonQueueName, REPORTS_QUEUE } from '../shared/names.js';
import type { AgentConfig } from './config.js';
import { azureCredential } from './credential.js';

export interface ReceivedMessage {
  id: string;
  /** What deleting the message takes (it changes when the message is received again). */
  popReceipt: string;
  text: string;
  dequeueCount: number;
}

export interface CommandQueue {
  readonly name: string;
  /** One message, invisible for `visibilityTimeoutSeconds`; undefined when empty or not created yet. */
  receive(visibilityTimeoutSeconds: number): Promise<ReceivedMessage | undefined>;
  delete(message: ReceivedMessage): Promise<void>;
  /** Copy the message, unchanged, to `<queue>-poison`, then delete it here. */
  poison(message: ReceivedMessage): Promise<void>;
}

export interface ReportSink {
  send(report: Report): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

/**
 * Short SDK retries: the loop has its own backoff (up to pollMaxSeconds) and redelivery, so the
 * SDK only needs to ride out a blip. Its defaults (4 tries from 4 s, doubling) would stall the
 * agent for half a minute after every storage outage before it even looked again.
 */
export const AGENT_QUEUE_RETRY = {
  maxTries: 3,
  retryDelayInMs: 250,
  maxRetryDelayInMs: 2000,
  tryTimeoutInMs: 30_000,
} satisfies StoragePipelineOptions['retryOptions'];

/**
 * Agents only need queues: a connection string locally, or the queue endpoint + Azure identity.
 * A throttled request (503 ServerBusy) is retried with jitter (shared/adapters/storage-busy-jitter.ts).
 */
export async function createQueueService(storage: AgentConfig['storage']): Promise<QueueServiceClient> {
  const options: StoragePipelineOptions = { retryOptions: AGENT_QUEUE_RETRY };
  const service =
    'connectionString' in storage
      ? QueueServiceClient.fromConnectionString(storage.connectionString, options)
      : new QueueServiceClient(storage.queueServiceUri, await azureCredential(), options);
  return withBusyJitter(service, AGENT_QUEUE_RETRY);
}

const isQueueMissing = (error: unknown): boolean => hasStatus(error, 404);

export class AzureCommandQueue implements CommandQueue {
  readonly name: string;
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;

  constructor(service: QueueServiceClient, ccsId: string, hostName: string) {
    this.name = commandQueueName(ccsId, hostName);
    this.queue = service.getQueueClient(this.name);
    this.poisonQueue = service.getQueueClient(poisonQueueName(this.name));
  }

  async receive(visibilityTimeoutSeconds: number): Promise<ReceivedMessage | undefined> {
    try {
      const response = await this.queue.receiveMessages({
        numberOfMessages: 1,
        visibilityTimeout: visibilityTimeoutSeconds,
      });
      const item = response.receivedMessageItems[0];
      if (!item) return undefined;
      return {
        id: item.messageId,
        popReceipt: item.popReceipt,
        text: item.messageText,
        dequeueCount: item.dequeueCount,
      };
    } catch (error) {
      // The API creates the queue when it folds our first hello: until then there is nothing to do.
      if (isQueueMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(message: ReceivedMessage): Promise<void> {
    try {
      await this.queue.deleteMessage(message.id, message.popReceipt);
    } catch (error) {
      // Already gone (another delivery of it was deleted): the goal is reached.
      if (!isQueueMissing(error)) throw error;
    }
  }

  async poison(message: ReceivedMessage): Promise<void> {
    try {
      await this.poisonQueue.sendMessage(message.text);
    } catch (error) {
      if (!isQueueMissing(error)) throw error;
      await this.poisonQueue.createIfNotExists();
      await this.poisonQueue.sendMessage(message.text);
    }
    await this.delete(message);
  }
}

export class AzureReportSink implements ReportSink {
  private readonly queue: QueueClient;

  constructor(service: QueueServiceClient) {
    this.queue = service.getQueueClient(REPORTS_QUEUE);
  }

  async send(report: Report): Promise<void> {
    const text = encodeMessage(report);
    try {
      await this.queue.sendMessage(text);
    } catch (error) {
      // The API normally creates it; an agent started first must not lose its hello over that.
      if (!isQueueMissing(error)) throw error;
      await this.queue.createIfNotExists();
      await this.queue.sendMessage(text);
    }
  }
}
