/**
 * Commands delivered twice. Azure Queue Storage delivers at least once: a message whose delete
 * did not land (the consumer's call timed out, its pop receipt went stale) is delivered again,
 * possibly long after it was handled ("Azure Storage queues and Service Bus queues compared":
 * at-least-once; Delete Message fails with 404 after the visibility timeout). The duplicate is
 * either a copy of a message now on the queue or a copy of a command sent earlier to the host,
 * sent again as it was.
 */
import { commandQueueName } from '../../../shared/names.js';
import { describeCommand } from '../observer.js';
import type { FaultModule } from './fault.js';

export const queueDuplicate: FaultModule = {
  kind: 'queue-duplicate',
  scope: 'queue',
  async start(ctx, host, random) {
    const queue = ctx.stack.storage.queue(commandQueueName(ctx.stack.ccsId, host));
    const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 8 });
    const earlier = ctx.sentCommands(host);
    const now = peekedMessageItems.map((m) => m.messageText);
    const texts = now.length > 0 && random.chance(0.6) ? [random.pick(now)] : [];
    if (texts.length === 0 && earlier.length > 0) texts.push(random.pick(earlier));
    const copies = random.int(1, 3);
    for (const text of texts) {
      for (let i = 0; i < copies; i++) await queue.sendMessage(text);
      const command = describeCommand(text);
      if (command) ctx.recorder.record({ kind: 'command', ...command, delivery: 'duplicated' });
    }
    const what = texts.length === 0 ? 'no-message' : now.includes(texts[0]!) ? 'copied' : 'replayed';
    return { holdMs: 200, end: () => Promise.resolve(what) };
  },
};
