/**
 * A TokenCredential that always returns the same bearer token. Local mode only: the local Key
 * Vault endpoint accepts a fixed token instead of an Entra ID one. Production uses
 * DefaultAzureCredential (managed identity).
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** Far enough that the SDK's token cache (which refreshes minutes before expiry) never asks again. */
const LIFETIME_MS = 365 * 24 * 3600 * 1000;

export class StaticTokenCredential implements TokenCredential {
  readonly #token: string;

  constructor(token: string) {
    if (!token) throw new Error('StaticTokenCredential needs a non-empty token');
    // Private field: the token does not show up when the credential is logged or inspected.
    this.#token = token;
  }

  getToken(): Promise<AccessToken> {
    return Promise.resolve({
      token: this.#token,
      expiresOnTimestamp: Date.now() + LIFETIME_MS,
      tokenType: 'Bearer',
    });
  }
}
