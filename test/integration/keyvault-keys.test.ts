/**
 * The local Key Vault's keys and role model driven by the REAL @azure/keyvault-keys KeyClient and
 * CryptographyClient (and the real SecretClient for secret scopes), over HTTPS with the bearer
 * challenge: create, get (public part only), versions, sign and verify with Key Vault's wire
 * shapes, and callers whose role assignments refuse what Key Vault RBAC would refuse.
 */
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { rawKeyVaultRequest } from '../support/keyvault-raw.js';

const ADMIN = `admin-${randomUUID()}`;
const READER = `reader-${randomUUID()}`;
const SIGNER = `signer-${randomUUID()}`;
const SECRET_USER = `secret-user-${randomUUID()}`;
const SIGNING_KEY = 'scoped-signing-key';
const ONE_SECRET = 'ccs-farm-a-identity-password';
let dir: string;
let vault: LocalKeyVault;
let ca: string;

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const options = () => ({
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
  tlsOptions: { ca },
});
const keysFor = (token: string) => new KeyClient(vault.url, new StaticTokenCredential(token), options());
const cryptoFor = (key: string | KeyVaultKey, token: string) =>
  new CryptographyClient(key, new StaticTokenCredential(token), options());
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** The error a promise rejects with, or fails the test. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message: string; details?: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { statusCode?: number; code?: string; message: string },
  );
  if (!error) expect.unreachable('expected a failure');
  return error;
}

/** The public key of a KeyVaultKey as a Node KeyObject (what an agent verifies with). */
function publicKeyOf(key: KeyVaultKey) {
  const jwk = key.key!;
  const b64 = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString('base64url');
  return jwk.kty === 'EC'
    ? createPublicKey({ key: { kty: 'EC', crv: jwk.crv!, x: b64(jwk.x), y: b64(jwk.y) }, format: 'jwk' })
    : createPublicKey({ key: { kty: 'RSA', n: b64(jwk.n), e: b64(jwk.e) }, format: 'jwk' });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-keyvault-keys-'));
  vault = await startKeyVaultServer({
    port: 0,
    certDir: join(dir, 'certs'),
    acceptedTokens: [ADMIN],
    principals: [
      { name: 'agent', token: READER, roles: [{ role: 'Key Vault Reader', scope: `/keys/${SIGNING_KEY}` }] },
      {
        name: 'api',
        token: SIGNER,
        roles: [{ role: 'Key Vault Crypto User', scope: `/keys/${SIGNING_KEY}` }],
      },
      {
        name: 'farm-a-agent',
        token: SECRET_USER,
        roles: [{ role: 'Key Vault Secrets User', scope: `/secrets/${ONE_SECRET}` }],
      },
    ],
  });
  ca = await readFile(vault.caCertPath, 'utf8');
});

afterAll(async () => {
  await vault?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('keys through the real KeyClient and CryptographyClient', () => {
  it('creates an EC P-256 key whose kid names its version and whose bundle carries only the public part', async () => {
    const name = unique('ec');
    const key = await keysFor(ADMIN).createEcKey(name, { curve: 'P-256' });
    expect(key.id).toMatch(new RegExp(`^${vault.url}/keys/${name}/[0-9a-f]{32}$`));
    expect(key.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(key.keyType).toBe('EC');
    expect(key.keyOperations).toEqual(['sign', 'verify']);
    expect(key.key?.crv).toBe('P-256');
    expect(key.key?.x).toHaveLength(32);
    expect(key.key?.y).toHaveLength(32);
    expect(key.key?.d).toBeUndefined();
    expect(key.properties.exportable).toBe(false);
    expect(key.properties.enabled).toBe(true);
  });

  it('adds a version on a second create, gets either version and lists both', async () => {
    const name = unique('rotated');
    const client = keysFor(ADMIN);
    const first = await client.createEcKey(name);
    const second = await client.createEcKey(name);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect((await client.getKey(name)).properties.version).toBe(second.properties.version);
    const old = await client.getKey(name, { version: first.properties.version! });
    expect(Buffer.from(old.key!.x!)).toEqual(Buffer.from(first.key!.x!));
    const versions: string[] = [];
    for await (const v of client.listPropertiesOfKeyVersions(name)) versions.push(v.version!);
    expect(versions.sort()).toEqual([first.properties.version, second.properties.version].sort());
    const names: string[] = [];
    for await (const k of client.listPropertiesOfKeys()) names.push(k.name);
    expect(names).toContain(name);
  });

  it('signs a digest with ES256 as Key Vault does: 64 bytes r||s that the public key verifies', async () => {
    const key = await keysFor(ADMIN).createEcKey(unique('es256'));
    const crypto = cryptoFor(key.id!, ADMIN);
    const digest = sha256('a command');
    const signed = await crypto.sign('ES256', digest);
    expect(signed.keyID).toBe(key.id);
    expect(signed.result).toHaveLength(64);
    const publicKey = publicKeyOf(key);
    expect(
      verify(
        'sha256',
        Buffer.from('a command'),
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        signed.result,
      ),
    ).toBe(true);
    expect((await crypto.verify('ES256', digest, signed.result)).result).toBe(true);
    expect((await crypto.verify('ES256', sha256('another command'), signed.result)).result).toBe(false);
    const data = await crypto.signData('ES256', Buffer.from('data'));
    expect(
      verify('sha256', Buffer.from('data'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, data.result),
    ).toBe(true);
  });

  it('signs with RS256 on an RSA key', async () => {
    const key = await keysFor(ADMIN).createRsaKey(unique('rsa'), { keySize: 2048 });
    expect(key.key?.n).toHaveLength(256);
    const signed = await cryptoFor(key.id!, ADMIN).sign('RS256', sha256('x'));
    expect(verify('sha256', Buffer.from('x'), publicKeyOf(key), signed.result)).toBe(true);
  });

  it('refuses what Key Vault refuses: a missing key, a wrong digest length, a mismatched algorithm, a disabled version', async () => {
    const client = keysFor(ADMIN);
    const missing = await failure(client.getKey(unique('missing')));
    expect(missing).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    const key = await client.createEcKey(unique('refusals'));
    const crypto = cryptoFor(key.id!, ADMIN);
    expect(await failure(crypto.sign('ES256', Buffer.alloc(20)))).toMatchObject({
      statusCode: 400,
      code: 'BadParameter',
    });
    expect(await failure(crypto.sign('ES384', Buffer.alloc(48)))).toMatchObject({ statusCode: 400 });
    await client.updateKeyProperties(key.name, key.properties.version!, { enabled: false });
    const disabled = await client.getKey(key.name, { version: key.properties.version! });
    expect(disabled.properties.enabled).toBe(false);
    const refused = await failure(cryptoFor(key.id!, ADMIN).sign('ES256', sha256('x')));
    expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
  });

  it('signs with the newest version when the request names none', async () => {
    const name = unique('latest');
    const key = await keysFor(ADMIN).createEcKey(name);
    const { status, body } = await rawKeyVaultRequest<{ kid: string; value: string }>(
      { url: vault.url, ca, token: ADMIN },
      'POST',
      `/keys/${name}//sign?api-version=2025-07-01`,
      {
        body: JSON.stringify({ alg: 'ES256', value: sha256('y').toString('base64url') }),
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(status).toBe(200);
    expect(body.kid).toBe(key.id);
    expect(Buffer.from(body.value, 'base64url')).toHaveLength(64);
  });
});

describe('the role model', () => {
  it('lets a Key Vault Reader on a key read its public part but not sign: 403 Forbidden, ForbiddenByRbac', async () => {
    const { kid } = await vault.deployKey({ name: SIGNING_KEY, kty: 'EC', crv: 'P-256' });
    const key = await keysFor(READER).getKey(SIGNING_KEY);
    expect(key.id).toBe(kid);
    const before = vault.stats().forbidden ?? 0;
    const error = await failure(cryptoFor(kid, READER).sign('ES256', sha256('forged')));
    expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(error.message).toContain("Action: 'Microsoft.KeyVault/vaults/keys/sign/action'");
    expect(error.message).toContain(`/keys/${SIGNING_KEY}'`);
    expect(error.message).toContain('Assignment: (not found)');
    expect(vault.stats().forbidden).toBe(before + 1);
    const raw = await rawKeyVaultRequest<{ error: { code: string; innererror: { code: string } } }>(
      { url: vault.url, ca, token: READER },
      'POST',
      `/keys/${SIGNING_KEY}/${kid.split('/').at(-1)}/sign?api-version=2025-07-01`,
      {
        body: JSON.stringify({ alg: 'ES256', value: sha256('z').toString('base64url') }),
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(raw.status).toBe(403);
    expect(raw.body.error).toMatchObject({ code: 'Forbidden', innererror: { code: 'ForbiddenByRbac' } });
  });

  it('lets a Key Vault Crypto User sign with the key it is assigned on, and no other', async () => {
    const { kid } = await vault.deployKey({ name: SIGNING_KEY, kty: 'EC', crv: 'P-256' });
    const signed = await cryptoFor(kid, SIGNER).sign('ES256', sha256('command'));
    expect(signed.result).toHaveLength(64);
    const other = await keysFor(ADMIN).createEcKey(unique('other'));
    expect(await failure(cryptoFor(other.id!, SIGNER).sign('ES256', sha256('command')))).toMatchObject({
      statusCode: 403,
    });
    expect(await failure(keysFor(SIGNER).createEcKey(unique('new')))).toMatchObject({ statusCode: 403 });
    expect(await failure(keysFor(READER).createEcKey(unique('new')))).toMatchObject({ statusCode: 403 });
  });

  it('scopes a Key Vault Secrets User to one secret: that one is readable, another is not, listing is not', async () => {
    const admin = new SecretClient(vault.url, new StaticTokenCredential(ADMIN), options());
    const mine = await admin.setSecret(ONE_SECRET, 'share-Pa55');
    await admin.setSecret('ccs-farm-b-identity-password', 'other-fleet');
    const agent = new SecretClient(vault.url, new StaticTokenCredential(SECRET_USER), options());
    expect((await agent.getSecret(ONE_SECRET, { version: mine.properties.version! })).value).toBe(
      'share-Pa55',
    );
    expect(await failure(agent.getSecret('ccs-farm-b-identity-password'))).toMatchObject({ statusCode: 403 });
    expect(await failure(agent.setSecret(ONE_SECRET, 'overwrite'))).toMatchObject({ statusCode: 403 });
    const listing = agent.listPropertiesOfSecrets();
    expect(await failure(listing.next())).toMatchObject({ statusCode: 403 });
  });
});
