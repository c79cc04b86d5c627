/** A PoisonQueue over a Storage Queue: `<queue>-poison`, created on first use. */
import { poisonQueueName } from '../names.js';
import type { PoisonQueue } from '../ports.js';
import type { StorageClients } from './storage.js';

/** Poison messages are kept as sent, cut to what a queue message can hold. */
const MAX_TEXT = 48_000;

export class StoragePoisonQueue implements PoisonQueue {
  private created: Promise<unknown> | undefined;

  constructor(
    private readonly storage: Pick<StorageClients, 'queue'>,
    private readonly queueName: string,
  ) {}

  async add(messageText: string): Promise<void> {
    const queue = this.storage.queue(poisonQueueName(this.queueName));
    this.created ??= queue.createIfNotExists().catch((error: unknown) => {
      this.created = undefined;
      throw error;
    });
    await this.created;
    await queue.sendMessage(Buffer.from(messageText.slice(0, MAX_TEXT), 'utf8').toString('base64'));
  }
}
