/**
 * The local Key Vault's certificate routes driven by the REAL @azure/keyvault-certificates
 * CertificateClient (and the real SecretClient for the secret that carries the PFX or PEM), over
 * HTTPS with the bearer challenge, as a publisher and the API will use them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateClient, type CertificatePolicy } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { rawKeyVaultRequest } from '../support/keyvault-raw.js';
import { readCertificateBundle } from '../../shared/pkcs12/bundle.js';
import { readPfxCertificates } from '../../shared/pkcs12/pfx.js';
import {
  makeCertificate,
  opensslPfx,
  opensslPkcs12Info,
  type TestCertificate,
} from '../support/certificates.js';

const TOKEN = `token-${randomUUID()}`;
let dir: string;
let vault: LocalKeyVault;
let ca: string;
let certificates: CertificateClient;
let secrets: SecretClient;
let www: TestCertificate;

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const local = { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } };

function clients(url: string) {
  const credential = new StaticTokenCredential(TOKEN);
  return {
    certificates: new CertificateClient(url, credential, { ...local, tlsOptions: { ca } }),
    secrets: new SecretClient(url, credential, { ...local, tlsOptions: { ca } }),
  };
}

/** The error a promise rejects with (status and Key Vault code), or fails the test. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { statusCode?: number; code?: string; message: string },
  );
  if (!error) expect.unreachable('expected a failure');
  return error;
}

const selfPolicy = (
  dnsNames: [string, ...string[]],
  extra: Partial<CertificatePolicy> = {},
): CertificatePolicy => ({
  issuerName: 'Self',
  subject: `CN=${dnsNames[0]}`,
  subjectAlternativeNames: { dnsNames },
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-kv-certs-'));
  vault = await startKeyVaultServer({
    certDir: join(dir, 'certs'),
    acceptedTokens: [TOKEN],
    dataFile: join(dir, 'kv.json'),
  });
  ca = await readFile(vault.caCertPath, 'utf8');
  ({ certificates, secrets } = clients(vault.url));
  www = await makeCertificate(['www.import.test', 'import.test']);
});

afterAll(async () => {
  await vault.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local Key Vault certificates with the real CertificateClient', () => {
  it('creates a self-signed certificate whose secret is an exportable PFX without a password', async () => {
    const name = unique('created');
    const poller = await certificates.beginCreateCertificate(
      name,
      selfPolicy(['a.create.test', '*.create.test']),
      {
        intervalInMs: 10,
        tags: { ccs: 'default' },
      },
    );
    const created = await poller.pollUntilDone();
    expect(created.name).toBe(name);
    expect(created.policy).toMatchObject({
      issuerName: 'Self',
      exportable: true,
      keyType: 'RSA',
      keySize: 2048,
    });
    expect(created.properties.tags).toEqual({ ccs: 'default' });
    expect(
      (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation?.status,
    ).toBe('completed');

    const secret = await secrets.getSecret(name, { version: created.properties.version ?? '' });
    expect(secret.properties).toMatchObject({ contentType: 'application/x-pkcs12', managed: true });
    expect(secret.properties.certificateKeyId).toBe(created.keyId);
    expect(created.secretId).toBe(secret.properties.id);
    const pfx = Buffer.from(secret.value ?? '', 'base64');
    const bundle = readCertificateBundle(pfx, 'pfx', '');
    expect(bundle.privateKey).not.toBeNull();
    expect(bundle.certificates[0]?.raw).toEqual(Buffer.from(created.cer ?? new Uint8Array()));
    expect(bundle.certificates[0]?.subjectAltName).toBe('DNS:a.create.test, DNS:*.create.test');
    expect(
      Buffer.from(created.properties.x509Thumbprint ?? new Uint8Array())
        .toString('hex')
        .toUpperCase(),
    ).toBe(bundle.certificates[0]?.fingerprint.replace(/:/g, ''));
    // Key Vault's own PFX protection, as recorded from the real service: TripleDES-SHA1, 2000 iterations.
    expect(readPfxCertificates(pfx, '').encryption).toMatchObject({
      certBag: 'pbe-sha1-3des',
      mac: 'sha1',
      iterations: 2000,
    });
    await expect(opensslPkcs12Info(pfx, '')).resolves.toContain('MAC: sha1');
    expect(secret.properties.notBefore?.getTime()).toBe(created.properties.notBefore?.getTime());
    expect(secret.properties.expiresOn?.getTime()).toBe(created.properties.expiresOn?.getTime());
  });

  it('creates an EC certificate and a non-exportable one whose secret carries no key', async () => {
    const ecName = unique('ec');
    const ec = await (
      await certificates.beginCreateCertificate(
        ecName,
        selfPolicy(['ec.create.test'], { keyType: 'EC', keyCurveName: 'P-384' }),
        {
          intervalInMs: 10,
        },
      )
    ).pollUntilDone();
    expect(ec.policy).toMatchObject({ keyType: 'EC', keyCurveName: 'P-384' });
    const ecSecret = await secrets.getSecret(ecName);
    expect(
      readCertificateBundle(Buffer.from(ecSecret.value ?? '', 'base64'), 'pfx', '').privateKey
        ?.asymmetricKeyType,
    ).toBe('ec');

    const sealed = unique('sealed');
    await (
      await certificates.beginCreateCertificate(sealed, selfPolicy(['sealed.test'], { exportable: false }), {
        intervalInMs: 10,
      })
    ).pollUntilDone();
    const sealedSecret = await secrets.getSecret(sealed);
    const bundle = readCertificateBundle(Buffer.from(sealedSecret.value ?? '', 'base64'), 'pfx', '');
    expect(bundle.privateKey).toBeNull();
    expect(bundle.certificates).toHaveLength(1);
    expect((await certificates.getCertificatePolicy(sealed)).exportable).toBe(false);
  });

  it('imports a PFX with a password and one without, and gets each version', async () => {
    const withPassword = unique('pfx-pw');
    const first = await certificates.importCertificate(withPassword, await opensslPfx(www, 'import-pw'), {
      password: 'import-pw',
      tags: { ccs: 'default' },
    });
    expect(first.policy).toMatchObject({
      issuerName: 'Unknown',
      contentType: 'application/x-pkcs12',
      exportable: true,
    });
    expect(first.policy?.subjectAlternativeNames).toEqual({ dnsNames: ['www.import.test', 'import.test'] });
    const second = await certificates.importCertificate(withPassword, await opensslPfx(www, '', true));
    expect(second.properties.version).not.toBe(first.properties.version);

    const latest = await certificates.getCertificate(withPassword);
    expect(latest.properties.version).toBe(second.properties.version);
    const old = await certificates.getCertificateVersion(withPassword, first.properties.version ?? '');
    expect(old.properties.tags).toEqual({ ccs: 'default' });
    const versions: string[] = [];
    for await (const v of certificates.listPropertiesOfCertificateVersions(withPassword))
      versions.push(v.version ?? '');
    expect(versions.sort()).toEqual([first.properties.version, second.properties.version].sort());

    const secret = await secrets.getSecret(withPassword, { version: first.properties.version ?? '' });
    const bundle = readCertificateBundle(Buffer.from(secret.value ?? '', 'base64'), 'pfx', '');
    expect(bundle.privateKey?.export({ format: 'der', type: 'pkcs8' })).toEqual(
      www.privateKey.export({ format: 'der', type: 'pkcs8' }),
    );
  });

  it('imports PEM (plain and with an encrypted PKCS#8 key) and serves the secret as PEM, key first', async () => {
    const pemPolicy = { contentType: 'application/x-pem-file' } as const;
    const plain =
      www.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() + www.certificate.toString();
    const name = unique('pem');
    const first = await certificates.importCertificate(name, Buffer.from(plain), { policy: pemPolicy });
    expect(first.policy?.contentType).toBe('application/x-pem-file');
    const encrypted =
      www.privateKey
        .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pem-pw' })
        .toString() + www.certificate.toString();
    const imported = await certificates.importCertificate(name, Buffer.from(encrypted), {
      policy: pemPolicy,
      password: 'pem-pw',
    });
    expect(imported.policy?.contentType).toBe('application/x-pem-file');

    const secret = await secrets.getSecret(name);
    expect(secret.properties.contentType).toBe('application/x-pem-file');
    expect(secret.value?.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    const bundle = readCertificateBundle(Buffer.from(secret.value ?? ''), 'pem');
    expect(bundle.certificates[0]?.raw).toEqual(www.certificate.raw);
  });

  it('refuses imports the real service refuses: no key, wrong password, a key not in PKCS#8, bad base64', async () => {
    const name = unique('refused');
    const noKey = await failure(
      certificates.importCertificate(name, Buffer.from(www.certificate.toString()), {
        policy: { contentType: 'application/x-pem-file' },
      }),
    );
    expect(noKey).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(noKey.message).toMatch(/Private key is not specified/);

    const wrong = await failure(
      certificates.importCertificate(name, await opensslPfx(www, 'right'), { password: 'wrong' }),
    );
    expect(wrong).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(wrong.message).not.toContain('right');

    const rsaTraditional =
      www.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString() + www.certificate.toString();
    const pkcs1 = await failure(
      certificates.importCertificate(name, Buffer.from(rsaTraditional), {
        policy: { contentType: 'application/x-pem-file' },
      }),
    );
    expect(pkcs1.message).toMatch(/PKCS#8/);
    await expect(certificates.getCertificate(name)).rejects.toMatchObject({
      statusCode: 404,
      code: 'CertificateNotFound',
    });
  });

  it('lists certificates with their tags, page by page through nextLink', async () => {
    const names = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const name = unique(`listed${i}`);
        await certificates.importCertificate(name, await opensslPfx(www, ''), { tags: { ccs: 'list-test' } });
        return name;
      }),
    );
    const pages: number[] = [];
    const seen = new Map<string, Record<string, string> | undefined>();
    // The SDK does not forward byPage's maxPageSize; `maxresults` in the options reaches the service.
    const pageOfTwo = { maxresults: 2, includePending: false };
    for await (const page of certificates.listPropertiesOfCertificates(pageOfTwo).byPage()) {
      pages.push(page.length);
      for (const p of page) seen.set(p.name ?? '', p.tags);
    }
    expect(pages.every((n) => n <= 2)).toBe(true);
    expect(pages.length).toBeGreaterThan(1);
    for (const name of names) expect(seen.get(name)).toEqual({ ccs: 'list-test' });
  });

  it('updates tags, policy and enabled; a disabled version’s secret is forbidden', async () => {
    const name = unique('updated');
    const imported = await certificates.importCertificate(name, await opensslPfx(www, ''));
    const version = imported.properties.version ?? '';
    const updated = await certificates.updateCertificateProperties(name, version, {
      tags: { team: 'web' },
      enabled: false,
    });
    expect(updated.properties).toMatchObject({ tags: { team: 'web' }, enabled: false });
    await expect(secrets.getSecret(name, { version })).rejects.toMatchObject({ statusCode: 403 });

    // 4.10.3's updateCertificatePolicy returns an empty policy whatever the service answers; read it back.
    await certificates.updateCertificatePolicy(name, {
      exportable: false,
      issuerName: 'Unknown',
      subject: 'CN=www.import.test',
    });
    expect((await certificates.getCertificatePolicy(name)).exportable).toBe(false);
  });

  it('keeps the secret of a certificate managed: the secrets API cannot overwrite or delete it', async () => {
    const name = unique('managed');
    await certificates.importCertificate(name, await opensslPfx(www, ''));
    const set = await failure(secrets.setSecret(name, 'overwrite'));
    expect(set).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(set.message).toMatch(/managed by Key Vault/);
    await expect(secrets.beginDeleteSecret(name)).rejects.toMatchObject({ statusCode: 403 });
  });

  it('soft-deletes, refuses the name while deleted, recovers and purges with the secret', async () => {
    const name = unique('deleted');
    await certificates.importCertificate(name, await opensslPfx(www, ''));
    const deleted = await (
      await certificates.beginDeleteCertificate(name, { intervalInMs: 10 })
    ).pollUntilDone();
    expect(deleted.recoveryId).toContain(`/deletedcertificates/${name}`);
    await expect(secrets.getSecret(name)).rejects.toMatchObject({ statusCode: 404 });
    const reuse = await failure(certificates.importCertificate(name, await opensslPfx(www, '')));
    expect(reuse).toMatchObject({ statusCode: 409, code: 'Conflict' });

    await (await certificates.beginRecoverDeletedCertificate(name, { intervalInMs: 10 })).pollUntilDone();
    expect((await secrets.getSecret(name)).properties.managed).toBe(true);

    await (await certificates.beginDeleteCertificate(name, { intervalInMs: 10 })).pollUntilDone();
    await certificates.purgeDeletedCertificate(name);
    await expect(certificates.getDeletedCertificate(name)).rejects.toMatchObject({ statusCode: 404 });
    await expect(secrets.getSecret(name)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('keeps certificates across a restart of the endpoint (data file)', async () => {
    const name = unique('kept');
    const imported = await certificates.importCertificate(name, await opensslPfx(www, ''));
    await vault.close();
    vault = await startKeyVaultServer({
      certDir: join(dir, 'certs'),
      acceptedTokens: [TOKEN],
      dataFile: join(dir, 'kv.json'),
    });
    ({ certificates, secrets } = clients(vault.url));
    const again = await certificates.getCertificate(name);
    expect(again.properties.version).toBe(imported.properties.version);
    expect((await secrets.getSecret(name)).value).toBeTruthy();
  });

  it('answers raw requests with Key Vault’s error bodies: api-version, unknown name, bad body', async () => {
    const call = (method: string, path: string, body?: string) =>
      rawKeyVaultRequest<{ error?: { code?: string } }>({ url: vault.url, ca, token: TOKEN }, method, path, {
        ...(body !== undefined && { body }),
        headers: { 'content-type': 'application/json' },
      });
    expect((await call('GET', '/certificates')).status).toBe(400);
    expect((await call('GET', '/certificates/nothing-here/?api-version=7.6')).body.error?.code).toBe(
      'CertificateNotFound',
    );
    const bad = await call('POST', '/certificates/x/import?api-version=7.6', JSON.stringify({ value: 42 }));
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BadParameter' } } });
    expect((await call('POST', '/certificates/bad_name/create?api-version=7.6', '{}')).status).toBe(400);
    expect((await call('PUT', '/certificates/x/import?api-version=7.6', '{}')).status).toBe(405);
    expect((await call('GET', '/certificates/x/pending?api-version=7.6')).status).toBe(404);
  });
});
