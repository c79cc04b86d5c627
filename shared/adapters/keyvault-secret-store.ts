/**
 * SecretStore on Azure Key Vault through the real SecretClient — the same code against Azure
 * and against the local endpoint (local/keyvault). Failures become SecretStoreErrors built
 * from the status and Key Vault error code only: the SDK's RestError keeps the request (whose
 * body holds the secret value) reachable, so it is never rethrown or attached as a cause.
 */
import type { TokenCredential } from '@azure/core-auth';
import {
  SecretClient,
  parseKeyVaultSecretIdentifier,
  type SecretClientOptions,
} from '@azure/keyvault-secrets';
import { DomainError, type ErrorKind } from '../errors.js';
import { SecretRefSchema, type SecretRef } from '../messages.js';
import type { SecretStore } from '../ports.js';
import { jitterPolicies, throttledWaitMs } from './retry-after-jitter.js';

export type SecretRetryOptions = NonNullable<SecretClientOptions['retryOptions']>;

export interface SecretClientSettings {
  vaultUrl: string;
  credential: TokenCredential;
  /** Local mode only: the local endpoint's self-signed certificate (PEM) to trust. */
  caCertPem?: string;
  /**
   * Overrides the retry policy (the SDK's honours `Retry-After` on 429/503 either way, plus a
   * random extra share of it: ./retry-after-jitter.ts).
   */
  retryOptions?: SecretRetryOptions;
}

/** Local mode: short exponential delays so tests of 503 handling stay fast. */
const LOCAL_RETRY: SecretRetryOptions = { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 };

export function createSecretClient(settings: SecretClientSettings): SecretClient {
  const options: SecretClientOptions = { additionalPolicies: jitterPolicies() };
  if (settings.caCertPem !== undefined) {
    // The local endpoint's challenge names https://vault.azure.net, which is not a parent
    // domain of 127.0.0.1; the SDK rejects that unless verification is off. Never in Azure.
    options.disableChallengeResourceVerification = true;
    options.tlsOptions = { ca: settings.caCertPem };
    options.retryOptions = LOCAL_RETRY;
  }
  if (settings.retryOptions) options.retryOptions = settings.retryOptions;
  return new SecretClient(settings.vaultUrl, settings.credential, options);
}

/** A Key Vault failure: status and Key Vault error code, never a secret value. */
export class SecretStoreError extends DomainError {
  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    /** HTTP status from Key Vault; undefined for network and TLS failures. */
    readonly statusCode: number | undefined,
    /** Key Vault's error code (`SecretNotFound`, `Throttled`…) or the network error code. */
    readonly vaultCode: string | undefined,
    /** A 429's `Retry-After` (with the jitter policy's share), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(kind, code, message);
    this.name = 'SecretStoreError';
  }
}

export interface KeyVaultSecretStoreOptions {
  /** How often a soft delete is polled until done; the SDK's default is 2000 ms. */
  pollIntervalMs?: number;
}

export class KeyVaultSecretStore implements SecretStore {
  constructor(
    private readonly client: SecretClient,
    private readonly options: KeyVaultSecretStoreOptions = {},
  ) {}

  async setSecret(name: string, value: string): Promise<SecretRef> {
    try {
      const { properties } = await this.setRecovering(name, value);
      const fromId = properties.id ? parseKeyVaultSecretIdentifier(properties.id) : undefined;
      const ref = SecretRefSchema.safeParse({
        name: fromId?.name ?? properties.name,
        version: fromId?.version ?? properties.version,
      });
      if (!ref.success) throw malformed('setSecret', name);
      return ref.data;
    } catch (error) {
      throw toStoreError(error, 'setSecret', name);
    }
  }

  /**
   * A name whose secret was soft-deleted (a ccs-id disabled, then enabled again) cannot take a
   * new version until it is recovered — and with purge protection it cannot be purged — so a
   * 409 `ObjectIsDeletedButRecoverable` recovers it and sets the new version.
   */
  private async setRecovering(name: string, value: string) {
    try {
      return await this.client.setSecret(name, value);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const poller = await this.client.beginRecoverDeletedSecret(name, {
        intervalInMs: this.options.pollIntervalMs,
      });
      await poller.pollUntilDone();
      return this.client.setSecret(name, value);
    }
  }

  async getSecret(ref: SecretRef): Promise<string> {
    return (await this.getSecretWithContentType(ref)).value;
  }

  /**
   * Exactly the referenced version, with its content type: what a certificate's managed secret
   * says its value is (`application/x-pkcs12`: a base64 PFX; `application/x-pem-file`: PEM text).
   */
  async getSecretWithContentType(ref: SecretRef): Promise<{ value: string; contentType: string | null }> {
    // An empty version would silently read the latest one instead of the referenced one.
    if (!ref.version) {
      throw new SecretStoreError(
        'invalid',
        'InvalidParameter',
        'A secret reference needs a version',
        undefined,
        undefined,
      );
    }
    try {
      const secret = await this.client.getSecret(ref.name, { version: ref.version });
      if (
        secret.value === undefined ||
        secret.properties.version?.toLowerCase() !== ref.version.toLowerCase()
      ) {
        throw malformed('getSecret', ref.name);
      }
      return { value: secret.value, contentType: secret.properties.contentType ?? null };
    } catch (error) {
      throw toStoreError(error, 'getSecret', ref.name);
    }
  }

  /** The newest enabled version of `name` and its value, or null when there is none. */
  async getLatestSecret(name: string): Promise<{ ref: SecretRef; value: string } | null> {
    try {
      const secret = await this.client.getSecret(name);
      const version = secret.properties.version;
      if (secret.value === undefined || !version) throw malformed('getSecret', name);
      return { ref: { name, version }, value: secret.value };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw toStoreError(error, 'getSecret', name);
    }
  }

  async deleteSecret(name: string): Promise<void> {
    try {
      const poller = await this.client.beginDeleteSecret(name, { intervalInMs: this.options.pollIntervalMs });
      await poller.pollUntilDone();
    } catch (error) {
      if (statusOf(error) === 404) return; // already gone or already soft-deleted
      throw toStoreError(error, 'deleteSecret', name);
    }
  }

  /** Permanently removes a soft-deleted secret; idempotent (nothing to purge is not an error). */
  async purgeSecret(name: string): Promise<void> {
    try {
      await this.client.purgeDeletedSecret(name);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStoreError(error, 'purgeSecret', name);
    }
  }
}

function malformed(operation: string, name: string): SecretStoreError {
  return new SecretStoreError(
    'unavailable',
    'KeyVaultUnavailable',
    `Key Vault ${operation} of secret '${name}' returned an unexpected response`,
    undefined,
    'MalformedResponse',
  );
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const KIND_BY_STATUS: Partial<Record<number, [ErrorKind, string]>> = {
  400: ['invalid', 'InvalidParameter'],
  404: ['not-found', 'SecretNotFound'],
  409: ['conflict', 'SecretConflict'],
  413: ['too-large', 'SecretTooLarge'],
};

/** Rebuilds any failure from its status and code alone (see the file comment for why). */
function toStoreError(error: unknown, operation: string, name: string): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const status = statusOf(error);
  const vaultCode = codeOf(error);
  // Anything else (401/403 from our own identity, throttling, 5xx, network) is the dependency
  // failing, not the caller's input.
  const [kind, code] = (status === undefined ? undefined : KIND_BY_STATUS[status]) ?? [
    'unavailable',
    'KeyVaultUnavailable',
  ];
  const detail = [status === undefined ? 'no response' : `HTTP ${status}`, vaultCode]
    .filter(Boolean)
    .join(', ');
  return new SecretStoreError(
    kind,
    code,
    `Key Vault ${operation} of secret '${name}' failed (${detail})`,
    status,
    vaultCode,
    throttledWaitMs(error),
  );
}
