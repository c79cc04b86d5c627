/**
 * Asks the elected scanner of every enabled ccs-id to scan its share when a scan is due, and
 * hands the lease over when the scanner went silent (shared/services/inventory-service.ts).
 * Each run is cheap (a lease row and the hosts per ccs-id); the interval itself is
 * CCS_INVENTORY_INTERVAL_SECONDS.
 */
import type { InvocationContext } from '@azure/functions';
import { appConfigured, getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineTimer } from '../route-table.js';

export async function scheduleInventory(_timer: unknown, context: InvocationContext): Promise<void> {
  // With an invalid setting (logged once at start) there is nothing to schedule with.
  if (!appConfigured()) return;
  await inInvocation(context, {}, async () => {
    const app = getAppContext();
    try {
      await app.inventory.tick();
    } catch {
      app.log.warn('could not schedule inventory scans; the next run retries');
    }
  });
}

defineTimer({
  name: 'scheduleInventoryScans',
  schedule: '*/15 * * * * *',
  localIntervalMs: 1000,
  handler: scheduleInventory,
});
