/**
 * Moves running operations forward on a schedule, so deadlines are enforced (silent hosts
 * marked unreachable, stuck commits resumed) even when no report or request arrives.
 */
import type { InvocationContext } from '@azure/functions';
import { appConfigured, getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineTimer } from '../route-table.js';

export async function sweepOperations(_timer: unknown, context: InvocationContext): Promise<void> {
  // With an invalid setting (logged once at start) there is nothing to sweep with.
  if (!appConfigured()) return;
  await inInvocation(context, {}, () => getAppContext().operations.sweep());
}

defineTimer({
  name: 'sweepOperations',
  schedule: '*/10 * * * * *',
  localIntervalMs: 1000,
  handler: sweepOperations,
});
