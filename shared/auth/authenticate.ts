/**
 * Authentication and authorization for every endpoint, done in code.
 *
 * Credentials, each as `Bearer <token>` (scheme case-insensitive, surrounding whitespace ignored):
 * - `Access-Token` header (IIS Administration style) or `Authorization` header;
 * - a token made of three base64url segments (a JWT) is verified as a Microsoft Entra ID access
 *   token (401 when Entra is not configured); anything else is looked up by SHA-256 hash in
 *   `CCS_API_KEYS`.
 * If both headers are present they must carry the same token. Header values over 8 KiB are
 * rejected before any parsing. `getHeader` must be case-insensitive (Fetch `Headers.get` is).
 */
import { ConfigError, type Config } from '../config.js';
import { DomainError } from '../errors.js';
import { findApiKey } from './access-tokens.js';
import { createEntraVerifier } from './entra.js';
import type { Principal, Role } from './principal.js';

export type AuthConfig = Pick<
  Config,
  'CCS_API_KEYS' | 'CCS_ENTRA_TENANT_ID' | 'CCS_ENTRA_AUDIENCE' | 'CCS_ENTRA_ISSUER' | 'CCS_ENTRA_JWKS_URL'
>;

export interface Authenticator {
  /** The caller's principal; rejects only with DomainError (401 'unauthenticated', or 403). */
  authenticate(getHeader: (name: string) => string | null): Promise<Principal>;
}

export const ACCESS_TOKEN_HEADER = 'Access-Token';
export const AUTHORIZATION_HEADER = 'Authorization';
export const MAX_CREDENTIAL_HEADER_LENGTH = 8 * 1024;

const BEARER = /^Bearer[ \t]+(\S+)$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const unauthenticated = (code: string, message: string, field: string): DomainError =>
  new DomainError('unauthenticated', code, message, field);

/** The bearer token of one header, undefined when the header is absent or blank. */
function bearerToken(getHeader: (name: string) => string | null, header: string): string | undefined {
  const raw = getHeader(header);
  if (raw === null || raw === undefined) return undefined;
  if (raw.length > MAX_CREDENTIAL_HEADER_LENGTH) {
    throw unauthenticated('InvalidToken', `The ${header} header is too large`, header);
  }
  const value = raw.trim();
  if (value === '') return undefined;
  const token = BEARER.exec(value)?.[1];
  if (token === undefined) {
    throw unauthenticated('InvalidToken', `The ${header} header must be "Bearer <token>"`, header);
  }
  return token;
}

/** Splits a comma-separated setting into its non-empty entries. */
const settingList = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

export function createAuthenticator(config: AuthConfig): Authenticator {
  const keys = [...config.CCS_API_KEYS];
  const tenant = config.CCS_ENTRA_TENANT_ID;
  const audience = config.CCS_ENTRA_AUDIENCE;
  if (Boolean(tenant) !== Boolean(audience)) {
    throw new ConfigError('CCS_ENTRA_AUDIENCE', 'CCS_ENTRA_TENANT_ID and CCS_ENTRA_AUDIENCE go together');
  }
  if (!tenant && (config.CCS_ENTRA_ISSUER || config.CCS_ENTRA_JWKS_URL)) {
    throw new ConfigError(
      'CCS_ENTRA_TENANT_ID',
      'is required when CCS_ENTRA_ISSUER or CCS_ENTRA_JWKS_URL is set',
    );
  }
  const verifyEntra =
    tenant && audience
      ? createEntraVerifier({
          tenantId: tenant,
          audience: settingList(audience),
          ...(config.CCS_ENTRA_ISSUER ? { issuer: settingList(config.CCS_ENTRA_ISSUER) } : {}),
          ...(config.CCS_ENTRA_JWKS_URL ? { jwksUrl: config.CCS_ENTRA_JWKS_URL } : {}),
        })
      : undefined;

  return {
    async authenticate(getHeader) {
      const fromAccessToken = bearerToken(getHeader, ACCESS_TOKEN_HEADER);
      const fromAuthorization = bearerToken(getHeader, AUTHORIZATION_HEADER);
      if (
        fromAccessToken !== undefined &&
        fromAuthorization !== undefined &&
        fromAccessToken !== fromAuthorization
      ) {
        throw unauthenticated(
          'InvalidToken',
          'The Access-Token and Authorization headers carry different tokens',
          ACCESS_TOKEN_HEADER,
        );
      }
      const token = fromAccessToken ?? fromAuthorization;
      const field = fromAccessToken !== undefined ? ACCESS_TOKEN_HEADER : AUTHORIZATION_HEADER;
      if (token === undefined) {
        throw unauthenticated('Unauthenticated', 'Authentication required', ACCESS_TOKEN_HEADER);
      }
      if (JWT_SHAPE.test(token)) {
        if (!verifyEntra) throw unauthenticated('InvalidToken', 'Entra ID tokens are not accepted', field);
        return verifyEntra(token);
      }
      const key = findApiKey(token, keys);
      if (!key) throw unauthenticated('InvalidToken', 'The access token is not valid', field);
      return { kind: 'access-token', id: key.name, name: key.name, role: key.role };
    },
  };
}

/** Throws 403 'InsufficientRole' unless the principal's role covers `needed` (write implies read). */
export function authorize(principal: Principal, needed: Role): void {
  if (needed === 'write' && principal.role !== 'write') {
    throw new DomainError('forbidden', 'InsufficientRole', 'This operation requires the write role', 'role');
  }
}
