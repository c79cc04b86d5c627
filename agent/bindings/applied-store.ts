/**
 * The store IIS uses now, as this host applied it: the local path and the private-key password
 * (fetched by its Key Vault reference, from the in-memory cache when it was used already). Used by
 * the serving check (what should IIS serve?) and by the bound-names preflight (what is served now?).
 */
import type { DesiredState } from '../../shared/messages.js';
import { localPath } from '../preflight.js';
import { SecretUnavailableError, type SecretCache } from '../secrets.js';
import type { AppliedStore, StoreToCompare } from '../serving/check.js';

export async function appliedStore(
  desired: DesiredState | null,
  secrets: SecretCache,
  environment: Record<string, string | undefined>,
): Promise<StoreToCompare> {
  if (!desired?.enabled || desired.path === null) return { unavailable: 'CCS is disabled on this host' };
  const path = localPath(desired.path, environment);
  if (path === null) return { unavailable: 'the applied path does not resolve on this host' };
  try {
    const privateKeyPassword = desired.privateKeyPassword
      ? await secrets.get(desired.privateKeyPassword)
      : null;
    return { path, privateKeyPassword } satisfies AppliedStore;
  } catch (error) {
    if (error instanceof SecretUnavailableError) return { unavailable: error.message };
    throw error;
  }
}
