/**
 * Queue trigger on the reports queue: folds agent reports (shared/services/report-service.ts).
 * A malformed report goes straight to the poison queue (retrying cannot fix it); a dependency
 * failure throws, so the Functions host retries it and, after `maxDequeueCount` (host.json),
 * poisons it.
 */
import type { InvocationContext } from '@azure/functions';
import { REPORTS_QUEUE } from '../../shared/names.js';
import { getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineQueue } from '../route-table.js';

export async function processReport(message: unknown, context: InvocationContext): Promise<void> {
  await inInvocation(context, {}, () => getAppContext().reports.handle(message));
}

defineQueue({ name: 'processReports', queueName: REPORTS_QUEUE, handler: processReport });
