/**
 * The publishing poll (shared/services/publish-runs.ts): every ccs-id with sources looks at Key
 * Vault once per CCS_INVENTORY_INTERVAL_SECONDS — the fallback for Event Grid deliveries that were
 * missed, and the only trigger on the local stack — and its elected host is asked to write the
 * share when a run would change something. A run between polls only reads a state row per ccs-id.
 */
import type { InvocationContext } from '@azure/functions';
import { appConfigured, getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineTimer } from '../route-table.js';

export async function publishSources(_timer: unknown, context: InvocationContext): Promise<void> {
  if (!appConfigured()) return;
  await inInvocation(context, {}, async () => {
    const app = getAppContext();
    try {
      await app.publishing.runs.tick();
    } catch {
      app.log.warn('could not schedule publish runs; the next run retries');
    }
  });
}

defineTimer({
  name: 'publishSources',
  schedule: '*/15 * * * * *',
  localIntervalMs: 1000,
  handler: publishSources,
});
