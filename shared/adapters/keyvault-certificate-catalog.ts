/**
 * CertificateCatalog on Azure Key Vault through the real CertificateClient
 * (`@azure/keyvault-certificates`) — the same code against Azure and the local endpoint
 * (local/keyvault). Metadata only: the API's role on the vault (Key Vault Reader) reads
 * certificates and their policies, never the secrets that hold the keys; the elected agent reads
 * those. The SDK retries 429 and 503 honouring `Retry-After`; what still fails is rebuilt from
 * status and code alone (SecretStoreError), so no SDK request object travels on.
 */
import type { TokenCredential } from '@azure/core-auth';
import { CertificateClient, type CertificateClientOptions } from '@azure/keyvault-certificates';
import type { CatalogCertificate, CatalogEntry, CertificateCatalog } from '../ports.js';
import { SecretStoreError } from './keyvault-secret-store.js';

export interface CertificateClientSettings {
  vaultUrl: string;
  credential: TokenCredential;
  /** Local mode only: the local endpoint's self-signed certificate (PEM) to trust. */
  caCertPem?: string;
}

export function createCertificateClient(settings: CertificateClientSettings): CertificateClient {
  const options: CertificateClientOptions = {};
  if (settings.caCertPem !== undefined) {
    // As for secrets (keyvault-secret-store.ts): the local challenge names vault.azure.net.
    options.disableChallengeResourceVerification = true;
    options.tlsOptions = { ca: settings.caCertPem };
    options.retryOptions = { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 };
  }
  return new CertificateClient(settings.vaultUrl, settings.credential, options);
}

const hex = (bytes: Uint8Array | undefined): string | null =>
  bytes && bytes.length > 0 ? Buffer.from(bytes).toString('hex').toUpperCase() : null;

const statusOf = (error: unknown): number | undefined => {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
};

function unavailable(error: unknown, operation: string, name: string): SecretStoreError {
  const status = statusOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  const vaultCode = typeof code === 'string' ? code : undefined;
  const detail = [status === undefined ? 'no response' : `HTTP ${status}`, vaultCode]
    .filter(Boolean)
    .join(', ');
  return new SecretStoreError(
    'unavailable',
    status === 429 ? 'KeyVaultThrottled' : 'KeyVaultUnavailable',
    `Key Vault ${operation} of certificate${name ? ` '${name}'` : 's'} failed (${detail})`,
    status,
    vaultCode,
  );
}

export class KeyVaultCertificateCatalog implements CertificateCatalog {
  constructor(private readonly client: CertificateClient) {}

  async list(): Promise<CatalogEntry[]> {
    const entries: CatalogEntry[] = [];
    try {
      for await (const properties of this.client.listPropertiesOfCertificates()) {
        if (!properties.name) continue;
        entries.push({
          name: properties.name,
          thumbprint: hex(properties.x509Thumbprint),
          tags: properties.tags ?? {},
          enabled: properties.enabled !== false,
        });
      }
    } catch (error) {
      throw unavailable(error, 'list', '');
    }
    return entries;
  }

  async get(name: string): Promise<CatalogCertificate | null> {
    try {
      const certificate = await this.client.getCertificate(name);
      const { properties } = certificate;
      const thumbprint = hex(properties.x509Thumbprint);
      if (!properties.version || !thumbprint || !certificate.cer) {
        throw new SecretStoreError(
          'unavailable',
          'KeyVaultUnavailable',
          `Key Vault returned certificate '${name}' without a version or its certificate`,
          undefined,
          'MalformedResponse',
        );
      }
      return {
        name: properties.name ?? name,
        version: properties.version,
        thumbprint,
        contentType: certificate.policy?.contentType ?? null,
        enabled: properties.enabled !== false,
        der: Buffer.from(certificate.cer),
        tags: properties.tags ?? {},
      };
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      if (statusOf(error) === 404) return null;
      throw unavailable(error, 'get', name);
    }
  }
}
