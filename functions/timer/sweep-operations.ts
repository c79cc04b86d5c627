/**
 * Moves running operations forward on a schedule, so deadlines are enforced (silent hosts
 * marked unreachable, stuck commits resumed) even when no report or request arrives.
 */
import type { InvocationContext } from '@azure/functions';
import { getAppContext } from '../app-context.js';
import { defineTimer } from '../route-table.js';

export async function sweepOperations(_timer: unknown, context: InvocationContext): Promise<void> {
  const app = getAppContext();
  const ids = await app.repos.activeOperationIds();
  for (const id of ids) {
    try {
      await app.engine.advance(id);
    } catch {
      context.warn(`could not advance operation ${id}; the next sweep retries`);
    }
  }
}

defineTimer({
  name: 'sweepOperations',
  schedule: '*/10 * * * * *',
  localIntervalMs: 1000,
  handler: sweepOperations,
});
