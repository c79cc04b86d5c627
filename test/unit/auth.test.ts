import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApiKey, generateAccessToken, hashAccessToken } from '../../shared/auth/access-tokens.js';
import { authorize, createAuthenticator, type AuthConfig } from '../../shared/auth/authenticate.js';
import type { Principal } from '../../shared/auth/principal.js';
import { createEntraVerifier } from '../../shared/auth/entra.js';
import { ConfigError, type ApiKey } from '../../shared/config.js';
import { DomainError } from '../../shared/errors.js';

const TENANT = randomUUID();
const OTHER_TENANT = randomUUID();
const APP_ID_URI = 'api://ccs-fleet';
const CLIENT_ID = randomUUID();
const ISSUER_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const ISSUER_V1 = `https://sts.windows.net/${TENANT}/`;
/** The caller's object id and the client app that asked for the token (access tokens carry both). */
const OID = randomUUID();
const CALLER_APP = randomUUID();
const KID = 'test-key-1';

const READ_TOKEN = generateAccessToken();
const WRITE_TOKEN = generateAccessToken();
const KEYS: ApiKey[] = [
  { name: 'reader', role: 'read', sha256: hashAccessToken(READ_TOKEN) },
  { name: 'deployer', role: 'write', sha256: hashAccessToken(WRITE_TOKEN) },
];

let server: Server;
let baseUrl: string;
let jwksFetches = 0;
let signingKey: CryptoKey;
let foreignKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  foreignKey = foreign.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });
  server = createServer((req, res) => {
    if (req.url === '/keys') {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else {
      res.writeHead(500).end('boom');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const config = (overrides: Partial<AuthConfig> = {}): AuthConfig => ({
  CCS_API_KEYS: KEYS,
  CCS_ENTRA_TENANT_ID: TENANT,
  CCS_ENTRA_AUDIENCE: `${APP_ID_URI},${CLIENT_ID}`,
  CCS_ENTRA_ISSUER: undefined,
  CCS_ENTRA_JWKS_URL: `${baseUrl}/keys`,
  ...overrides,
});

/** A case-insensitive header lookup, as the Functions runtime's `Headers.get`. */
const headers =
  (values: Record<string, string>) =>
  (name: string): string | null =>
    new Headers(values).get(name);

const now = () => Math.floor(Date.now() / 1000);

interface TokenOptions {
  claims?: JWTPayload;
  key?: CryptoKey;
  kid?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
}

async function entraToken(o: TokenOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    tid: TENANT,
    ver: '2.0',
    oid: OID,
    azp: CALLER_APP,
    roles: ['CCS.Read'],
    preferred_username: 'alice@contoso.com',
    ...o.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? KID })
    .setIssuer(o.iss ?? ISSUER_V2)
    .setAudience(o.aud ?? CLIENT_ID)
    .setIssuedAt(now() - 60)
    .setNotBefore(o.nbf ?? now() - 60)
    .setExpirationTime(o.exp ?? now() + 3600)
    .sign(o.key ?? signingKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

function thrown(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('access tokens', () => {
  it('generates distinct 32-byte base64url tokens', () => {
    const a = generateAccessToken();
    const b = generateAccessToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('hashes to lowercase hex SHA-256', () => {
    expect(hashAccessToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('finds the key by the hash of the token, never by the hash itself', () => {
    expect(findApiKey(WRITE_TOKEN, KEYS)?.name).toBe('deployer');
    expect(findApiKey(READ_TOKEN, KEYS)?.name).toBe('reader');
    expect(findApiKey(hashAccessToken(READ_TOKEN), KEYS)).toBeUndefined();
    expect(findApiKey('nope', KEYS)).toBeUndefined();
    expect(findApiKey(READ_TOKEN, [])).toBeUndefined();
  });

  it('skips malformed hashes instead of throwing', () => {
    const malformed: ApiKey[] = [
      { name: 'short', role: 'write', sha256: 'abcd' },
      { name: 'upper', role: 'write', sha256: hashAccessToken(READ_TOKEN).toUpperCase() },
      { name: 'good', role: 'read', sha256: hashAccessToken(READ_TOKEN) },
    ];
    expect(findApiKey(READ_TOKEN, malformed)?.name).toBe('good');
  });

  it('returns the first entry when a hash is configured twice', () => {
    const sha256 = hashAccessToken(READ_TOKEN);
    const twice: ApiKey[] = [
      { name: 'first', role: 'read', sha256 },
      { name: 'second', role: 'write', sha256 },
    ];
    expect(findApiKey(READ_TOKEN, twice)).toEqual({ name: 'first', role: 'read', sha256 });
  });
});

describe('authenticate with access tokens', () => {
  const auth = () => createAuthenticator(config());

  it('requires credentials', async () => {
    const err = await rejection(auth().authenticate(headers({})));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'Unauthenticated', field: 'Access-Token' });
    expect(err.message).toBe('Authentication required');
  });

  it('treats blank headers as no credentials', async () => {
    const err = await rejection(auth().authenticate(headers({ 'Access-Token': '   ' })));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'Unauthenticated' });
  });

  it('rejects an unknown key without echoing it', async () => {
    const bad = generateAccessToken();
    const err = await rejection(auth().authenticate(headers({ 'Access-Token': `Bearer ${bad}` })));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken', field: 'Access-Token' });
    expect(err.message).not.toContain(bad);
  });

  it.each(['Access-Token', 'Authorization'])('accepts a read key in %s', async (header) => {
    const principal = await auth().authenticate(headers({ [header]: `Bearer ${READ_TOKEN}` }));
    expect(principal).toEqual({ kind: 'access-token', id: 'reader', name: 'reader', role: 'read' });
  });

  it.each(['Access-Token', 'Authorization'])('accepts a write key in %s', async (header) => {
    const principal = await auth().authenticate(headers({ [header]: `Bearer ${WRITE_TOKEN}` }));
    expect(principal).toEqual({ kind: 'access-token', id: 'deployer', name: 'deployer', role: 'write' });
  });

  it('accepts the scheme in any case and surrounding whitespace', async () => {
    const a = await auth().authenticate(headers({ 'access-token': `bearer ${WRITE_TOKEN}` }));
    const b = await auth().authenticate((name) =>
      name === 'Authorization' ? `  BEARER \t${WRITE_TOKEN}  ` : null,
    );
    expect([a.role, b.role]).toEqual(['write', 'write']);
  });

  it('accepts the same token in both headers but not two different ones', async () => {
    const same = await auth().authenticate(
      headers({ 'Access-Token': `Bearer ${READ_TOKEN}`, Authorization: `Bearer ${READ_TOKEN}` }),
    );
    expect(same.name).toBe('reader');
    const err = await rejection(
      auth().authenticate(
        headers({ 'Access-Token': `Bearer ${READ_TOKEN}`, Authorization: `Bearer ${WRITE_TOKEN}` }),
      ),
    );
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken' });
  });

  it.each([
    ['no token', 'Bearer'],
    ['no scheme', READ_TOKEN],
    ['another scheme', `Basic ${READ_TOKEN}`],
    ['two tokens', `Bearer ${READ_TOKEN} ${WRITE_TOKEN}`],
    ['combined headers', `Bearer ${READ_TOKEN}, Bearer ${WRITE_TOKEN}`],
    ['non-ASCII', 'Bearer ÿÿÿ'],
    ['dots', 'Bearer ...'],
    ['three segments that are not a JWT', 'Bearer a.b.c'],
  ])('rejects garbage (%s)', async (_label, value) => {
    const err = await rejection(auth().authenticate(headers({ 'Access-Token': value })));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken' });
  });

  it('rejects a header over 8 KiB before parsing, even if it holds a valid key', async () => {
    const padded = `Bearer${' '.repeat(9000)}${WRITE_TOKEN}`;
    expect(
      await auth().authenticate((n) =>
        n === 'Access-Token' ? `Bearer${' '.repeat(100)}${WRITE_TOKEN}` : null,
      ),
    ).toMatchObject({ role: 'write' });
    const err = await rejection(auth().authenticate((n) => (n === 'Access-Token' ? padded : null)));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken', field: 'Access-Token' });
    expect(err.message).toMatch(/too large/);
    const huge = await rejection(
      auth().authenticate(headers({ Authorization: `Bearer ${'a'.repeat(100_000)}` })),
    );
    expect(huge).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken', field: 'Authorization' });
  });

  it('rejects JWTs when Entra is not configured', async () => {
    const a = createAuthenticator({
      ...config(),
      CCS_ENTRA_TENANT_ID: undefined,
      CCS_ENTRA_AUDIENCE: undefined,
      CCS_ENTRA_JWKS_URL: undefined,
    });
    expect((await a.authenticate(headers({ 'Access-Token': `Bearer ${READ_TOKEN}` }))).role).toBe('read');
    const err = await rejection(a.authenticate(headers({ Authorization: `Bearer ${await entraToken()}` })));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken' });
  });

  it('fails fast on half-configured Entra settings', () => {
    expect(thrown(() => createAuthenticator(config({ CCS_ENTRA_AUDIENCE: undefined })))).toBeInstanceOf(
      ConfigError,
    );
    expect(
      thrown(() =>
        createAuthenticator(config({ CCS_ENTRA_TENANT_ID: undefined, CCS_ENTRA_AUDIENCE: undefined })),
      ),
    ).toBeInstanceOf(ConfigError);
    expect(
      thrown(() => createAuthenticator(config({ CCS_ENTRA_TENANT_ID: 'contoso.onmicrosoft.com' }))),
    ).toBeInstanceOf(ConfigError);
    expect(
      thrown(() => createAuthenticator(config({ CCS_ENTRA_JWKS_URL: 'http://example.com/keys' }))),
    ).toBeInstanceOf(ConfigError);
  });
});

describe('authenticate with Entra ID tokens', () => {
  const auth = () => createAuthenticator(config());
  const bearer = (jwt: string) => headers({ Authorization: `Bearer ${jwt}` });
  const expectInvalid = async (jwt: string, message?: RegExp) => {
    const err = await rejection(auth().authenticate(bearer(jwt)));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken' });
    expect(err.message).not.toContain(jwt);
    if (message) expect(err.message).toMatch(message);
  };

  it('accepts a read token (v2.0: v2 issuer, client id audience) as <oid>@<tid>, name beside it', async () => {
    const principal = await auth().authenticate(bearer(await entraToken()));
    expect(principal).toEqual({
      kind: 'entra',
      id: `${OID}@${TENANT}`,
      name: 'alice@contoso.com',
      role: 'read',
    });
  });

  it('refuses ID tokens: a nonce, or neither azp nor appid', async () => {
    await expectInvalid(await entraToken({ claims: { nonce: 'n-0S6_WzA2Mj' } }), /ID tokens/);
    await expectInvalid(await entraToken({ claims: { azp: undefined } }), /ID tokens/);
    const v1 = { iss: ISSUER_V1, aud: APP_ID_URI };
    await expectInvalid(await entraToken({ ...v1, claims: { ver: '1.0', azp: undefined } }), /ID tokens/);
    const ok = await entraToken({ ...v1, claims: { ver: '1.0', azp: undefined, appid: CALLER_APP } });
    expect((await auth().authenticate(bearer(ok))).role).toBe('read');
  });

  it('pairs each token version with its issuer and audience form', async () => {
    // v2.0: only the client id is an audience, only the v2 issuer issues.
    await expectInvalid(await entraToken({ aud: APP_ID_URI }), /client id/);
    await expectInvalid(await entraToken({ iss: ISSUER_V1 }), /v2\.0 issuer/);
    // v1.0: the v1 issuer, the App ID URI (or the client id).
    await expectInvalid(await entraToken({ claims: { ver: '1.0' } }), /v1\.0 issuer/);
    const v1 = await entraToken({ iss: ISSUER_V1, aud: APP_ID_URI, claims: { ver: '1.0' } });
    expect((await auth().authenticate(bearer(v1))).id).toBe(`${OID}@${TENANT}`);
    await expectInvalid(await entraToken({ claims: { ver: undefined } }), /"ver"/);
    await expectInvalid(await entraToken({ claims: { ver: '3.0' } }), /"ver"/);
  });

  it('requires the caller object id', async () => {
    await expectInvalid(await entraToken({ claims: { oid: undefined } }), /oid/);
    await expectInvalid(await entraToken({ claims: { oid: 'alice' } }), /oid/);
  });

  it('maps CCS.Write to write, which implies read', async () => {
    const jwt = await entraToken({ claims: { roles: ['CCS.Read', 'CCS.Write'] } });
    const principal = await auth().authenticate(bearer(jwt));
    expect(principal.role).toBe('write');
    expect(() => authorize(principal, 'write')).not.toThrow();
    expect(() => authorize(principal, 'read')).not.toThrow();
  });

  it('accepts the token in Access-Token too', async () => {
    const jwt = await entraToken({ claims: { roles: ['CCS.Write'] } });
    expect((await auth().authenticate(headers({ 'Access-Token': `Bearer ${jwt}` }))).role).toBe('write');
  });

  it('accepts a v1 issuer and a bare client id audience', async () => {
    const jwt = await entraToken({
      iss: ISSUER_V1,
      aud: CLIENT_ID,
      claims: { ver: '1.0', preferred_username: undefined, upn: 'bob@contoso.com' },
    });
    expect(await auth().authenticate(bearer(jwt))).toMatchObject({ name: 'bob@contoso.com', role: 'read' });
  });

  it('names app-only principals by their client id', async () => {
    const app = randomUUID();
    const jwt = await entraToken({ claims: { preferred_username: undefined, azp: app } });
    expect((await auth().authenticate(bearer(jwt))).name).toBe(app);
  });

  it('rejects an expired token beyond the 5 minute tolerance only', async () => {
    await expectInvalid(await entraToken({ exp: now() - 400 }), /expired/);
    expect((await auth().authenticate(bearer(await entraToken({ exp: now() - 200 })))).role).toBe('read');
  });

  it('rejects a not-yet-valid token beyond the 5 minute tolerance only', async () => {
    await expectInvalid(await entraToken({ nbf: now() + 400 }), /not yet valid/);
    expect((await auth().authenticate(bearer(await entraToken({ nbf: now() + 200 })))).role).toBe('read');
  });

  it('rejects a wrong audience', async () => {
    await expectInvalid(await entraToken({ aud: 'api://someone-else' }), /audience/);
    await expectInvalid(await entraToken({ aud: 'https://graph.microsoft.com' }), /audience/);
  });

  it('rejects a wrong issuer', async () => {
    await expectInvalid(await entraToken({ iss: 'https://evil.example/v2.0' }), /issuer/);
    await expectInvalid(
      await entraToken({ iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }),
      /issuer/,
    );
  });

  it('rejects a token for another tenant even with the right issuer', async () => {
    await expectInvalid(await entraToken({ claims: { tid: OTHER_TENANT } }), /another tenant/);
    await expectInvalid(await entraToken({ claims: { tid: undefined } }), /"tid"/);
  });

  it('rejects a signature by another key, with our kid or its own', async () => {
    await expectInvalid(await entraToken({ key: foreignKey }), /signature/);
    await expectInvalid(await entraToken({ key: foreignKey, kid: 'attacker' }), /signing key/);
  });

  it('rejects a tampered payload', async () => {
    const [h, , s] = (await entraToken()).split('.');
    const forged = `${h}.${b64({ tid: TENANT, roles: ['CCS.Write'], iss: ISSUER_V2, aud: APP_ID_URI, exp: now() + 3600 })}.${s}`;
    await expectInvalid(forged, /signature/);
  });

  it('rejects alg none and HS256 without fetching keys', async () => {
    const before = jwksFetches;
    const payload = { tid: TENANT, roles: ['CCS.Write'], iss: ISSUER_V2, aud: APP_ID_URI, exp: now() + 3600 };
    await expectInvalid(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`, /RS256/);
    const hs = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!'));
    await expectInvalid(hs, /RS256/);
    expect(jwksFetches).toBe(before);
  });

  it('rejects garbage JWTs', async () => {
    await expectInvalid(`${b64({ alg: 'RS256' })}.bm90IGpzb24.c2ln`);
    await expectInvalid('eyJ.eyJ.eyJ');
    await expectInvalid(`${b64('x')}.${b64('y')}.`);
  });

  it('authenticates a token without either role but forbids it (403)', async () => {
    for (const roles of [[], ['Other.Role'], 'CCS.Write', undefined]) {
      const err = await rejection(auth().authenticate(bearer(await entraToken({ claims: { roles } }))));
      expect(err).toMatchObject({ kind: 'forbidden', code: 'InsufficientRole', field: 'role' });
    }
  });

  it('caches the JWKS across verifications', async () => {
    const a = auth();
    const jwt = await entraToken();
    const before = jwksFetches;
    for (let i = 0; i < 5; i++) await a.authenticate(bearer(jwt));
    expect(jwksFetches - before).toBe(1);
  });

  it('reports an unreachable or broken JWKS as TokenValidationUnavailable (401)', async () => {
    const jwt = await entraToken();
    const broken = createEntraVerifier({
      tenantId: TENANT,
      audience: APP_ID_URI,
      jwksUrl: `${baseUrl}/broken`,
    });
    expect(await rejection(broken(jwt))).toMatchObject({
      kind: 'unauthenticated',
      code: 'TokenValidationUnavailable',
    });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = createEntraVerifier({
      tenantId: TENANT,
      audience: APP_ID_URI,
      jwksUrl: `http://127.0.0.1:${port}/keys`,
    });
    expect(await rejection(down(jwt))).toMatchObject({
      kind: 'unauthenticated',
      code: 'TokenValidationUnavailable',
    });
  });

  it('honours an issuer override', async () => {
    const custom = 'https://login.microsoftonline.us/' + TENANT + '/v2.0';
    const a = createAuthenticator(config({ CCS_ENTRA_ISSUER: custom }));
    expect((await a.authenticate(bearer(await entraToken({ iss: custom })))).role).toBe('read');
    const err = await rejection(a.authenticate(bearer(await entraToken({ iss: ISSUER_V2 }))));
    expect(err).toMatchObject({ kind: 'unauthenticated', code: 'InvalidToken' });
  });
});

describe('authorize', () => {
  const reader: Principal = { kind: 'access-token', id: 'reader', name: 'reader', role: 'read' };
  const writer: Principal = { kind: 'entra', id: `${OID}@${TENANT}`, name: 'deployer', role: 'write' };

  it('lets read principals read and forbids them to write', () => {
    expect(() => authorize(reader, 'read')).not.toThrow();
    expect(thrown(() => authorize(reader, 'write'))).toMatchObject({
      kind: 'forbidden',
      code: 'InsufficientRole',
      field: 'role',
    });
  });

  it('lets write principals do both', () => {
    expect(() => authorize(writer, 'read')).not.toThrow();
    expect(() => authorize(writer, 'write')).not.toThrow();
  });
});
