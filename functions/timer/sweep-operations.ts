/**
 * Moves running operations forward on a schedule, so deadlines are enforced (silent hosts
 * marked unreachable, stuck commits resumed) even when no report or request arrives.
 */
import type { InvocationContext } from '@azure/functions';
import { getAppContext } from '../app-context.js';
import { defineTimer } from '../route-table.js';

export async function sweepOperations(_timer: unknown, _context: InvocationContext): Promise<void> {
  await getAppContext().operations.sweep();
}

defineTimer({
  name: 'sweepOperations',
  schedule: '*/10 * * * * *',
  localIntervalMs: 1000,
  handler: sweepOperations,
});
