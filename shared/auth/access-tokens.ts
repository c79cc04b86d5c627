/**
 * IIS Administration–style access tokens. The service stores only the lowercase hex SHA-256 of
 * each token (config `CCS_API_KEYS`); the token itself is shown once, to whoever creates it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../config.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A new access token: 32 random bytes, base64url (43 characters, no padding). */
export function generateAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The lowercase hex SHA-256 of a token's UTF-8 bytes, as configured in `CCS_API_KEYS`. */
export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The configured key whose hash matches the token, compared with `timingSafeEqual` over the
 * digests. Every key is compared (no early exit); entries whose hash is not 64 lowercase hex
 * characters never match. The first matching entry wins.
 */
export function findApiKey(token: string, keys: readonly ApiKey[]): ApiKey | undefined {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (!SHA256_HEX.test(key.sha256)) continue;
    const expected = Buffer.from(key.sha256, 'hex');
    if (timingSafeEqual(presented, expected) && found === undefined) found = key;
  }
  return found;
}
