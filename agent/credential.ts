/**
 * The machine's Azure identity (managed identity on Azure VMs and Arc-enabled servers;
 * AZURE_CLIENT_ID picks a user-assigned one). `@azure/identity` is loaded only when needed:
 * it takes seconds to load, and local mode, `status` and configuration errors never use it.
 */
import type { TokenCredential } from '@azure/core-auth';

let credential: Promise<TokenCredential> | undefined;

export function azureCredential(): Promise<TokenCredential> {
  credential ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential());
  return credential;
}
