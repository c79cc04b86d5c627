/** CommandBus over Storage Queues: one queue per host, named by shared/names.ts. */
import type { AgentCommand } from '../messages.js';
import { encodeMessage } from '../messages.js';
import { commandQueueName, poisonQueueName } from '../names.js';
import type { CommandBus } from '../ports.js';
import type { StorageClients } from './storage.js';

/** Commands expire after a day: a host away longer gets the desired state from its next hello. */
const COMMAND_TTL_SECONDS = 24 * 60 * 60;

export class QueueCommandBus implements CommandBus {
  private readonly created = new Set<string>();

  constructor(private readonly storage: StorageClients) {}

  async ensureHostQueue(ccsId: string, host: string): Promise<void> {
    const name = commandQueueName(ccsId, host);
    if (this.created.has(name)) return;
    await Promise.all([
      this.storage.queue(name).createIfNotExists(),
      this.storage.queue(poisonQueueName(name)).createIfNotExists(),
    ]);
    this.created.add(name);
  }

  async send(command: AgentCommand): Promise<void> {
    const queue = this.storage.queue(commandQueueName(command.ccsId, command.host));
    await queue.sendMessage(encodeMessage(command), { messageTimeToLive: COMMAND_TTL_SECONDS });
  }
}
