/**
 * Queue trigger on the reports queue: folds agent reports into the table. A malformed report
 * goes straight to the poison queue (retrying cannot fix it); a dependency failure throws, so
 * the Functions host retries it and, after `maxDequeueCount` (host.json), poisons it.
 */
import type { InvocationContext } from '@azure/functions';
import { REPORTS_QUEUE, poisonQueueName } from '../../shared/names.js';
import { getAppContext } from '../app-context.js';
import { defineQueue } from '../route-table.js';

export async function processReport(message: unknown, context: InvocationContext): Promise<void> {
  const app = getAppContext();
  const outcome = await app.reports.handle(message);
  if (outcome === 'malformed') {
    const poison = app.storage.queue(poisonQueueName(REPORTS_QUEUE));
    await poison.createIfNotExists();
    const text = typeof message === 'string' ? message : JSON.stringify(message ?? null);
    await poison.sendMessage(Buffer.from(text.slice(0, 48_000), 'utf8').toString('base64'));
    context.warn('malformed report moved to the poison queue');
  }
}

defineQueue({ name: 'processReports', queueName: REPORTS_QUEUE, handler: processReport });
