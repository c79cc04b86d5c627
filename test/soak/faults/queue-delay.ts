/**
 * Commands delivered late. A message on a host's queue is taken and put back invisible for a
 * few seconds — what Put Message's `visibilitytimeout` does ("the message will be invisible
 * for this long", Azure Queue Storage REST API, Put Message), and what a consumer that received
 * a message and stalled leaves behind (Get Messages: the message reappears when its visibility
 * timeout runs out). Order between messages is not kept, as the queue never promises it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { commandQueueName } from '../../../shared/names.js';
import { describeCommand } from '../observer.js';
import type { FaultModule } from './fault.js';

export const queueDelay: FaultModule = {
  kind: 'queue-delay',
  scope: 'queue',
  start(ctx, host, random) {
    const holdMs = random.int(1000, 8000);
    const delaySeconds = random.int(1, 12);
    const queue = ctx.stack.storage.queue(commandQueueName(ctx.stack.ccsId, host));
    // Looks for a message while the fault holds: a command in flight may not be queued yet.
    const taking = (async () => {
      for (const deadline = Date.now() + holdMs; Date.now() < deadline; await delay(150)) {
        const { receivedMessageItems: items } = await queue.receiveMessages({
          numberOfMessages: random.int(1, 4),
          visibilityTimeout: 30,
        });
        if (items.length === 0) continue;
        for (const item of items) {
          await queue.sendMessage(item.messageText, { visibilityTimeout: delaySeconds });
          await queue.deleteMessage(item.messageId, item.popReceipt);
          const command = describeCommand(item.messageText);
          if (command) ctx.recorder.record({ kind: 'command', ...command, delivery: 'delayed' });
        }
        return 'delayed';
      }
      return 'no-message';
    })().catch(() => 'storage unreachable');
    return Promise.resolve({ holdMs, end: () => taking });
  },
};
