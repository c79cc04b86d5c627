/**
 * Emits the expiry and coverage events of every enabled ccs-id (shared/services/
 * coverage-telemetry.ts), which the Azure Monitor alert rules of infra/app/alerts.bicep count.
 * Every 15 minutes: the rules look at the last hour, so one missed run raises no false "resolved".
 */
import type { InvocationContext } from '@azure/functions';
import { appConfigured, getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineTimer } from '../route-table.js';

export async function emitCoverageTelemetry(_timer: unknown, context: InvocationContext): Promise<void> {
  // With an invalid setting (logged once at start) there is nothing to read.
  if (!appConfigured()) return;
  await inInvocation(context, {}, async () => {
    const app = getAppContext();
    try {
      await app.coverageTelemetry.run();
    } catch {
      app.log.warn('could not compute coverage telemetry; the next run retries');
    }
  });
}

defineTimer({
  name: 'emitCoverageTelemetry',
  schedule: '0 */15 * * * *',
  localIntervalMs: 60_000,
  handler: emitCoverageTelemetry,
});
