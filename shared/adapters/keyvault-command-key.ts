/**
 * The command-signing key (shared/signing.ts) on Azure Key Vault through the real KeyClient and
 * CryptographyClient — the same code against Azure and against the local endpoint (local/keyvault).
 *
 * - The API signs: it looks up the newest version of the key (cached KEY_CACHE_MS, single-flight)
 *   and asks Key Vault to sign each digest with exactly that version (`keys/sign/action`, which
 *   Key Vault Crypto User grants). The private key never leaves Key Vault.
 * - Agents verify: they read the public part of the version a command names (`keys/read`, which
 *   Key Vault Reader grants) and verify locally; they hold no permission that signs.
 *
 * Failures become SigningKeyErrors built from the status and Key Vault error code only (the SDK's
 * RestError keeps the whole request reachable, and nothing of it needs to travel).
 *
 * A fan-out signs one command per host, so a large fleet's change spends the vault's key budget
 * (4,000 operations per 10 s, shared with the agents' public-key reads) faster than it refills:
 * Key Vault answers 429 with `Retry-After`, and the SDK's three retries are not enough for a
 * thousand signs queued behind one budget — the change then failed with CommandsNotSent. So a
 * sign — and an agent's read of the public key — that is still throttled after the SDK's
 * retries waits what the vault asks (plus the jitter policy's share) and tries again, for up
 * to THROTTLED_KEY_PATIENCE_MS (docs/reliability.md; measured in docs/performance.md, section 9).
 */
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import { CryptographyClient, KeyClient, type KeyClientOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import {
  COMMAND_SIGNING_KEY,
  KEY_CACHE_MS,
  SIGNATURE_ALGORITHM,
  type CommandPublicKey,
  type CommandSigningKey,
} from '../signing.js';
import { StaticTokenCredential } from './static-token-credential.js';
import { jitterPolicies, patientlyThrottled } from './retry-after-jitter.js';

/** How long one sign or key read keeps trying while Key Vault answers 429 (an HTTP request has 230 s). */
export const THROTTLED_KEY_PATIENCE_MS = 120_000;

export interface KeyClientSettings {
  vaultUrl: string;
  credential: TokenCredential;
  /** Local mode only: the local endpoint's self-signed certificate (PEM) to trust. */
  caCertPem?: string;
  retryOptions?: KeyClientOptions['retryOptions'];
}

/** The client options for a vault (local mode: trust its certificate, skip the resource check). */
export function keyClientOptions(
  settings: Omit<KeyClientSettings, 'vaultUrl' | 'credential'>,
): KeyClientOptions {
  const options: KeyClientOptions = { additionalPolicies: jitterPolicies() };
  if (settings.caCertPem !== undefined) {
    // The local endpoint's challenge names https://vault.azure.net, which is not a parent domain
    // of 127.0.0.1; the SDK refuses that unless verification is off. Never in Azure.
    options.disableChallengeResourceVerification = true;
    options.tlsOptions = { ca: settings.caCertPem };
    options.retryOptions = { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 };
  }
  if (settings.retryOptions) options.retryOptions = settings.retryOptions;
  return options;
}

export function createKeyClient(settings: KeyClientSettings): KeyClient {
  return new KeyClient(settings.vaultUrl, settings.credential, keyClientOptions(settings));
}

/** A Key Vault key failure: status and Key Vault error code, nothing else of the response. */
export class SigningKeyError extends DomainError {
  constructor(
    message: string,
    /** HTTP status from Key Vault; undefined for network and TLS failures. */
    readonly statusCode: number | undefined,
    readonly vaultCode: string | undefined,
  ) {
    super('unavailable', 'SigningKeyUnavailable', message);
    this.name = 'SigningKeyError';
  }
}

function keyError(error: unknown, operation: string, name: string): SigningKeyError {
  if (error instanceof SigningKeyError) return error;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const code = (error as { code?: unknown } | null)?.code;
  const statusCode = typeof status === 'number' ? status : undefined;
  const vaultCode = typeof code === 'string' ? code : undefined;
  const detail = [statusCode === undefined ? 'no response' : `HTTP ${statusCode}`, vaultCode]
    .filter(Boolean)
    .join(', ');
  return new SigningKeyError(
    `Key Vault ${operation} with key '${name}' failed (${detail})`,
    statusCode,
    vaultCode,
  );
}

/** The API's signing key: the newest version of the Key Vault key, used through Key Vault's `sign`. */
export class KeyVaultCommandSigningKey implements CommandSigningKey {
  private cached: { version: string; crypto: CryptographyClient; at: number } | undefined;
  private pending: Promise<{ version: string; crypto: CryptographyClient }> | undefined;

  constructor(
    private readonly keys: KeyClient,
    private readonly credential: TokenCredential,
    private readonly options: KeyClientOptions = {},
    private readonly name = COMMAND_SIGNING_KEY,
    private readonly now: () => number = Date.now,
    private readonly patienceMs = THROTTLED_KEY_PATIENCE_MS,
  ) {}

  async ready(): Promise<void> {
    await this.current();
  }

  async sign(digest: Buffer): Promise<{ kid: string; signature: Buffer }> {
    const { version, crypto } = await this.current();
    try {
      const result = await patientlyThrottled(
        () => crypto.sign(SIGNATURE_ALGORITHM, digest),
        this.patienceMs,
        this.now,
      );
      return { kid: version, signature: Buffer.from(result.result) };
    } catch (error) {
      // A version disabled or deleted since it was looked up: look again next time.
      this.cached = undefined;
      throw keyError(error, 'sign', this.name);
    }
  }

  private current(): Promise<{ version: string; crypto: CryptographyClient }> {
    if (this.cached && this.now() - this.cached.at < KEY_CACHE_MS) return Promise.resolve(this.cached);
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async load(): Promise<{ version: string; crypto: CryptographyClient }> {
    let key: KeyVaultKey;
    try {
      key = await this.keys.getKey(this.name);
    } catch (error) {
      throw keyError(error, 'getKey', this.name);
    }
    const version = key.properties.version;
    if (!version || key.properties.enabled === false) {
      throw new SigningKeyError(
        `The newest version of key '${this.name}' is disabled`,
        undefined,
        'KeyDisabled',
      );
    }
    // Built from the fetched key, the client signs remotely with exactly this version.
    const crypto = new CryptographyClient(key, this.credential, this.options);
    this.cached = { version, crypto, at: this.now() };
    return this.cached;
  }
}

const b64url = (bytes: Uint8Array | undefined): string | undefined =>
  bytes ? Buffer.from(bytes).toString('base64url') : undefined;

/** Agents: reads one version's public part (Key Vault never returns the private key of a key it made). */
export class KeyVaultCommandPublicKeys {
  constructor(
    private readonly keys: KeyClient,
    private readonly name = COMMAND_SIGNING_KEY,
    private readonly patienceMs = THROTTLED_KEY_PATIENCE_MS,
  ) {}

  async get(version: string): Promise<CommandPublicKey> {
    let key: KeyVaultKey;
    try {
      key = await patientlyThrottled(() => this.keys.getKey(this.name, { version }), this.patienceMs);
    } catch (error) {
      throw keyError(error, 'getKey', this.name);
    }
    if (key.properties.version?.toLowerCase() !== version.toLowerCase() || !key.key) {
      throw new SigningKeyError(
        `Key Vault getKey of key '${this.name}' returned another version`,
        undefined,
        undefined,
      );
    }
    return {
      version,
      enabled: key.properties.enabled !== false,
      ...(key.properties.notBefore && { notBefore: key.properties.notBefore }),
      ...(key.properties.expiresOn && { expiresOn: key.properties.expiresOn }),
      keyOps: key.keyOperations ?? [],
      jwk: { kty: key.key.kty ?? '', crv: key.key.crv, x: b64url(key.key.x), y: b64url(key.key.y) },
    };
  }
}

/** The API's signing key from its settings (local mode: the local vault's CA and token). */
export function commandSigningKey(
  config: Pick<Config, 'CCS_KEY_VAULT_URL' | 'CCS_KEY_VAULT_CA_FILE' | 'CCS_KEY_VAULT_LOCAL_TOKEN'>,
  /** The process's Azure credential (unused in local mode, which presents the local token). */
  credential?: TokenCredential,
): KeyVaultCommandSigningKey {
  const caFile = config.CCS_KEY_VAULT_CA_FILE;
  const access = caFile
    ? {
        credential: new StaticTokenCredential(config.CCS_KEY_VAULT_LOCAL_TOKEN ?? ''),
        caCertPem: readFileSync(caFile, 'utf8'),
      }
    : { credential: credential ?? missingCredential() };
  const options = keyClientOptions(access);
  const keys = new KeyClient(config.CCS_KEY_VAULT_URL, access.credential, options);
  return new KeyVaultCommandSigningKey(keys, access.credential, options);
}

function missingCredential(): never {
  throw new Error('commandSigningKey needs a credential outside local mode');
}
