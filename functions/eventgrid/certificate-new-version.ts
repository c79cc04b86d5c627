/**
 * Key Vault's `Microsoft.KeyVault.CertificateNewVersionCreated` (Event Grid, subscription in
 * infra/modules/certificate-events.bicep): a certificate has a new version, so every ccs-id that
 * names it (or selects by tag) looks at Key Vault now instead of at its next poll
 * (shared/services/publish-runs.ts). An event that is missed or late changes nothing for good: the
 * inventory-interval poll finds the new version anyway.
 *
 * Event Grid schema: `eventType`, `subject` (the object name) and `data` with `ObjectName`,
 * `ObjectType`, `Version`, `VaultName` (Azure Key Vault as an Event Grid source). Other events and
 * malformed ones are logged and dropped: retrying them would not make them valid.
 */
import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { KeyVaultNameSchema } from '../../shared/publishing/messages.js';
import { appConfigured, getAppContext } from '../app-context.js';
import { inInvocation } from '../invocation-log.js';
import { defineEventGrid } from '../route-table.js';

export const CERTIFICATE_NEW_VERSION = 'Microsoft.KeyVault.CertificateNewVersionCreated';

const EventSchema = z.object({
  eventType: z.string(),
  subject: z.string().optional(),
  data: z.object({ ObjectName: z.string().optional(), objectName: z.string().optional() }).loose().optional(),
});

/** The certificate an event is about, or null when it is not a certificate's new version. */
export function certificateOfEvent(event: unknown): string | null {
  const parsed = EventSchema.safeParse(event);
  if (!parsed.success || parsed.data.eventType !== CERTIFICATE_NEW_VERSION) return null;
  const name = parsed.data.data?.ObjectName ?? parsed.data.data?.objectName ?? parsed.data.subject;
  return KeyVaultNameSchema.safeParse(name).success ? (name ?? null) : null;
}

export async function certificateNewVersion(event: unknown, context: InvocationContext): Promise<void> {
  if (!appConfigured()) return;
  await inInvocation(context, {}, async () => {
    const app = getAppContext();
    const name = certificateOfEvent(event);
    if (name === null) {
      app.log.warn('Event Grid event ignored: not a certificate new version');
      return;
    }
    // A failure is thrown: Event Grid retries the delivery (and the poll catches up regardless).
    await app.publishing.runs.certificateChanged(name);
  });
}

defineEventGrid({ name: 'certificateNewVersion', handler: certificateNewVersion });
