/**
 * Microsoft Entra ID access tokens, validated in code with jose: RS256 only, keys from the
 * tenant's JWKS (fetched and cached by jose: 10 min max age, refetch on an unknown `kid` at most
 * every 30 s, 5 s timeout), issuer, audience, exp/nbf with clock tolerance, `tid`, app roles.
 *
 * Failures are always a DomainError of kind 'unauthenticated' (401) — never anything else:
 * - 'InvalidToken' for anything wrong with the token (the message names the check, never the
 *   token's contents);
 * - 'TokenValidationUnavailable' when the signing keys cannot be obtained (JWKS endpoint down,
 *   non-200, malformed). This is deliberately a 401, not a 503: the request is not authenticated,
 *   a client retry with the same token will succeed once the endpoint recovers, and an
 *   attacker-chosen `kid` (which triggers a refetch) must not be able to produce 5xx responses.
 *   The distinct code lets monitoring tell it apart from bad tokens.
 * A valid token carrying neither app role is rejected with 'forbidden' / 'InsufficientRole'
 * (403): a Principal always has a role.
 *
 * Issue 17's review fixes: ID tokens are refused (a `nonce`, or neither `azp` nor `appid`: an ID
 * token proves a sign-in to some client, it does not authorize calls to this API); each token
 * version is paired with its own issuer and audience form (Entra access tokens: v1.0 — issuer
 * `https://sts.windows.net/{tid}/`, audience the App ID URI or client id; v2.0 — issuer
 * `…/{tid}/v2.0`, audience always the client id); and the caller is `<oid>@<tid>`, stable across
 * renames, with the display name beside it.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config.js';
import { DomainError } from '../errors.js';
import type { Principal, Role } from './principal.js';

export interface EntraVerifierOptions {
  /** Directory (tenant) ID, a GUID: the `tid` claim must equal it. */
  tenantId: string;
  /**
   * Accepted `aud` values. Entra puts the App ID URI (e.g. `api://ccs-fleet`) in v1 tokens and
   * the bare application (client) ID in v2 tokens; list both to accept both.
   */
  audience: string | readonly string[];
  /**
   * Accepted `iss` values. Default: `https://login.microsoftonline.com/{tenant}/v2.0` and
   * `https://sts.windows.net/{tenant}/` (v1). Override for sovereign clouds.
   */
  issuer?: string | readonly string[];
  /** Default `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`. https only (http for loopback). */
  jwksUrl?: string;
  /** Default 300 (5 minutes). */
  clockToleranceSeconds?: number;
}

export const ENTRA_ROLE_WRITE = 'CCS.Write';
export const ENTRA_ROLE_READ = 'CCS.Read';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_NAME_LENGTH = 200;

/** Thrown by the key resolver when the JWKS cannot be obtained; never leaves this module. */
class KeysUnavailable extends Error {}

const invalidToken = (reason: string): DomainError =>
  new DomainError('unauthenticated', 'InvalidToken', reason, 'Authorization');

const toList = (value: string | readonly string[]): string[] =>
  (typeof value === 'string' ? [value] : [...value]).map((v) => v.trim()).filter((v) => v !== '');

function parseJwksUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('CCS_ENTRA_JWKS_URL', 'must be an absolute URL');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError('CCS_ENTRA_JWKS_URL', 'must use https (http only for loopback hosts)');
  }
  return url;
}

/** A printable, bounded name for logs and audit records. */
function principalName(payload: JWTPayload): string {
  const candidates = ['preferred_username', 'upn', 'unique_name', 'azp', 'appid', 'oid', 'sub'];
  for (const claim of candidates) {
    const value = payload[claim];
    if (typeof value === 'string') {
      // eslint-disable-next-line no-control-regex
      const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
      if (clean !== '') return clean.slice(0, MAX_NAME_LENGTH);
    }
  }
  return 'entra-principal';
}

/** The token-type and version checks jose's options cannot express (see the module comment). */
function checkAccessToken(payload: JWTPayload, audience: string[], issuerPinned: boolean, tenantId: string) {
  if (payload.nonce !== undefined || (typeof payload.azp !== 'string' && typeof payload.appid !== 'string')) {
    throw invalidToken('ID tokens are not accepted: send an access token issued for this API');
  }
  const version = payload.ver;
  if (version !== '1.0' && version !== '2.0')
    throw invalidToken('The token\'s "ver" claim must be 1.0 or 2.0');
  const expectedIssuer =
    version === '1.0'
      ? `https://sts.windows.net/${tenantId}/`
      : `https://login.microsoftonline.com/${tenantId}/v2.0`;
  // An overridden issuer (sovereign clouds) is checked as configured, by jwtVerify.
  if (!issuerPinned && payload.iss !== expectedIssuer) {
    throw invalidToken(`A v${version} token must come from the v${version} issuer`);
  }
  // v2.0 access tokens always carry the client id (a GUID) as audience; an App ID URI there
  // means a token of another version or kind.
  if (version === '2.0' && !(audience.includes(String(payload.aud)) && GUID.test(String(payload.aud)))) {
    throw invalidToken("A v2.0 token must be issued for this API's client id (audience)");
  }
  if (typeof payload.oid !== 'string' || !GUID.test(payload.oid.toLowerCase())) {
    throw invalidToken('The token lacks the caller\'s object id ("oid")');
  }
}

function roleOf(payload: JWTPayload): Role | undefined {
  const roles = Array.isArray(payload.roles) ? (payload.roles as unknown[]) : [];
  if (roles.includes(ENTRA_ROLE_WRITE)) return 'write';
  if (roles.includes(ENTRA_ROLE_READ)) return 'read';
  return undefined;
}

function describe(error: unknown): DomainError {
  if (error instanceof KeysUnavailable) {
    return new DomainError(
      'unauthenticated',
      'TokenValidationUnavailable',
      'The Entra ID signing keys could not be obtained; retry later',
      'Authorization',
    );
  }
  if (error instanceof errors.JWTExpired) return invalidToken('The token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return invalidToken('The token is not yet valid');
    if (error.claim === 'iss') return invalidToken('The token was issued by an unexpected issuer');
    if (error.claim === 'aud') return invalidToken('The token is not intended for this API (audience)');
    return error.reason === 'missing'
      ? invalidToken(`The token lacks the required "${error.claim}" claim`)
      : invalidToken(`The token's "${error.claim}" claim is invalid`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalidToken('The token must be signed with RS256');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalidToken('The token signature is invalid');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalidToken('No signing key of the tenant matches the token');
  }
  return invalidToken('The token is malformed');
}

/**
 * A verifier for Entra ID access tokens. Throws ConfigError at creation for a malformed tenant,
 * audience or JWKS URL; the returned function rejects only with DomainError.
 */
export function createEntraVerifier(opts: EntraVerifierOptions): (jwt: string) => Promise<Principal> {
  const tenantId = opts.tenantId.trim().toLowerCase();
  if (!GUID.test(tenantId)) throw new ConfigError('CCS_ENTRA_TENANT_ID', 'must be the tenant GUID');
  const audience = toList(opts.audience);
  if (audience.length === 0) throw new ConfigError('CCS_ENTRA_AUDIENCE', 'must name at least one audience');
  const issuer = opts.issuer === undefined ? [] : toList(opts.issuer);
  const issuerPinned = issuer.length > 0;
  if (issuer.length === 0) {
    issuer.push(`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`);
  }
  const clockTolerance = opts.clockToleranceSeconds ?? 300;
  if (!Number.isInteger(clockTolerance) || clockTolerance < 0 || clockTolerance > 3600) {
    throw new ConfigError('clockToleranceSeconds', 'must be an integer between 0 and 3600');
  }
  const jwksUrl = parseJwksUrl(
    opts.jwksUrl ?? `https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`,
  );
  const jwks = createRemoteJWKSet(jwksUrl);

  // Tell "the keys could not be fetched" apart from "no key matches this token".
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new KeysUnavailable();
    }
  };

  return async (jwt: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, getKey, {
        algorithms: ['RS256'],
        issuer,
        audience,
        clockTolerance,
        requiredClaims: ['exp', 'tid'],
      }));
    } catch (error) {
      throw describe(error);
    }
    if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== tenantId) {
      throw invalidToken('The token was issued for another tenant');
    }
    checkAccessToken(payload, audience, issuerPinned, tenantId);
    const role = roleOf(payload);
    if (role === undefined) {
      throw new DomainError(
        'forbidden',
        'InsufficientRole',
        `The token carries neither the ${ENTRA_ROLE_READ} nor the ${ENTRA_ROLE_WRITE} app role`,
        'role',
      );
    }
    return {
      kind: 'entra',
      id: `${String(payload.oid).toLowerCase()}@${tenantId}`,
      name: principalName(payload),
      role,
    };
  };
}
