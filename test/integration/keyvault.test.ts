/**
 * The local Key Vault endpoint driven by the REAL @azure/keyvault-secrets SecretClient through
 * the production adapter, so the adapter and the emulator are checked against the SDK's actual
 * wire behaviour (challenge, retries, LRO polling, paging), plus raw HTTPS for the edges.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import {
  createSecretClient,
  KeyVaultSecretStore,
  SecretStoreError,
  type SecretRetryOptions,
} from '../../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { rawKeyVaultRequest, type RawResponse as RawResponseOf } from '../support/keyvault-raw.js';

const TOKEN = `token-${randomUUID()}`;
const API = 'api-version=2025-07-01';
let dir: string;
let vault: LocalKeyVault;
let ca: string;

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

function clientFor(token = TOKEN, retryOptions?: SecretRetryOptions, url = vault.url) {
  return createSecretClient({
    vaultUrl: url,
    credential: new StaticTokenCredential(token),
    caCertPem: ca,
    ...(retryOptions && { retryOptions }),
  });
}
const storeFor = (token = TOKEN, retryOptions?: SecretRetryOptions, url = vault.url) =>
  new KeyVaultSecretStore(clientFor(token, retryOptions, url), { pollIntervalMs: 10 });

/** Expects `promise` to reject with a SecretStoreError and returns it. */
async function storeError(promise: Promise<unknown>): Promise<SecretStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretStoreError);
  return error as SecretStoreError;
}

/** The parts of Key Vault response bodies these tests look at. */
interface KvBody {
  value?: unknown;
  id?: string;
  attributes?: { created?: number };
  error?: { code?: string; innererror?: { code?: string } };
}

type RawResponse = RawResponseOf<KvBody>;

/** One HTTPS request that bypasses the SDK (authenticated unless `token` is null). */
const raw = (
  method: string,
  path: string,
  options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse> =>
  rawKeyVaultRequest<KvBody>({ url: vault.url, ca, token: TOKEN }, method, path, options);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-keyvault-'));
  vault = await startKeyVaultServer({ port: 0, certDir: join(dir, 'certs'), acceptedTokens: [TOKEN] });
  ca = await readFile(vault.caCertPath, 'utf8');
});

afterAll(async () => {
  await vault?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local Key Vault through the real SecretClient', () => {
  it('challenges an unauthenticated request, then the SDK authenticates with the token', async () => {
    const probe = await raw('GET', `/secrets?${API}`, { token: null });
    expect(probe.status).toBe(401);
    expect(probe.headers['www-authenticate']).toMatch(
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[^"]+", resource="https:\/\/vault\.azure\.net"$/,
    );

    vault.resetStats();
    const store = storeFor();
    const ref = await store.setSecret(unique('challenge'), 'first');
    expect(vault.stats()).toEqual({ challenged: 1, setSecret: 1 });
    expect(await store.getSecret(ref)).toBe('first');
    expect(vault.stats()).toEqual({ challenged: 1, setSecret: 1, getSecret: 1 }); // token cached
  });

  it('rejects a token it does not accept, without creating anything', async () => {
    const name = unique('wrong-token');
    const error = await storeError(storeFor('not-the-token').setSecret(name, 'hunter2-value'));
    expect(error.statusCode).toBe(401);
    expect(error.kind).toBe('unavailable');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('hunter2-value');
    expect(vault.stats().rejected).toBeGreaterThan(0);
    const missing = await raw('GET', `/secrets/${name}/?${API}`);
    expect(missing.status).toBe(404);
  });

  it('creates a new version on every set and reads exactly the referenced one', async () => {
    const store = storeFor();
    const name = unique('versions');
    const first = await store.setSecret(name, 'one');
    const second = await store.setSecret(name, 'two');
    expect(first.name).toBe(name);
    expect(first.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.version).not.toBe(first.version);
    expect(await store.getSecret(first)).toBe('one');
    expect(await store.getSecret(second)).toBe('two');
  });

  it('returns Azure-shaped bundles and lists versions without values, page by page', async () => {
    const client = clientFor();
    const name = unique('list');
    const refs = [];
    for (const value of ['a', 'b', 'c']) refs.push((await client.setSecret(name, value)).properties.version);

    const bundle = await raw('GET', `/secrets/${name}/?${API}`);
    expect(bundle.body).toMatchObject({
      value: 'c',
      id: `${vault.url}/secrets/${name}/${refs[2]}`,
      attributes: { enabled: true, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    });
    expect(Number.isInteger(bundle.body.attributes?.created)).toBe(true);

    const pages: number[] = [];
    const versions: (string | undefined)[] = [];
    for await (const page of client.listPropertiesOfSecretVersions(name).byPage({ maxPageSize: 2 })) {
      pages.push(page.length);
      versions.push(...page.map((p) => p.version));
    }
    expect(pages).toEqual([2, 1]);
    expect(versions).toEqual(refs);

    const listed = await raw('GET', `/secrets/${name}/versions?${API}`);
    expect((listed.body.value as object[]).some((item) => 'value' in item)).toBe(false);
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names).toContain(name);
  });

  it('soft-deletes (then 404, visible as deleted), is idempotent, and purges', async () => {
    const store = storeFor();
    const client = clientFor();
    const name = unique('delete');
    const ref = await store.setSecret(name, 'doomed');
    await store.deleteSecret(name);

    expect((await storeError(store.getSecret(ref))).kind).toBe('not-found');
    const deleted = await client.getDeletedSecret(name);
    expect(deleted.properties.recoveryId).toBe(`${vault.url}/deletedsecrets/${name}`);
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate!.getTime()).toBeGreaterThan(
      deleted.properties.deletedOn!.getTime(),
    );
    expect(deleted.value).toBeUndefined();
    const deletedNames: string[] = [];
    for await (const d of client.listDeletedSecrets()) deletedNames.push(d.name);
    expect(deletedNames).toContain(name);

    await store.deleteSecret(name); // already soft-deleted: no error
    await store.purgeSecret(name);
    expect((await raw('GET', `/deletedsecrets/${name}?${API}`)).status).toBe(404);
    await store.purgeSecret(name); // nothing left: no error
    await store.deleteSecret(unique('never-existed'));
    expect(await store.getSecret(await store.setSecret(name, 'reborn'))).toBe('reborn');
  });

  it('recovers a soft-deleted secret with all its versions', async () => {
    const store = storeFor();
    const name = unique('recover');
    const first = await store.setSecret(name, 'v1');
    const second = await store.setSecret(name, 'v2');
    await store.deleteSecret(name);
    const poller = await clientFor().beginRecoverDeletedSecret(name, { intervalInMs: 10 });
    expect((await poller.pollUntilDone()).name).toBe(name);
    expect(await store.getSecret(first)).toBe('v1');
    expect(await store.getSecret(second)).toBe('v2');
  });

  it('answers 409 to a raw set of a soft-deleted name, like Azure', async () => {
    const store = storeFor();
    const name = unique('conflict');
    await store.setSecret(name, 'old');
    await store.deleteSecret(name);
    const rawReply = await raw('PUT', `/secrets/${name}?${API}`, { body: JSON.stringify({ value: 'x' }) });
    expect(rawReply.status).toBe(409);
    expect(rawReply.body.error?.innererror?.code).toBe('ObjectIsDeletedButRecoverable');
  });

  it('recovers a soft-deleted name before setting a new version through the adapter', async () => {
    const store = storeFor();
    const name = unique('recover-set');
    const old = await store.setSecret(name, 'old');
    await store.deleteSecret(name);
    const ref = await store.setSecret(name, 'new-value-xyz');
    expect(ref.version).not.toBe(old.version);
    expect(await store.getSecret(ref)).toBe('new-value-xyz');
    expect(await store.getSecret(old)).toBe('old');
  });

  it('keeps secrets across a restart with the same data file (mode 0600)', async () => {
    const dataFile = join(dir, 'data', 'keyvault.json');
    const certDir = join(dir, 'certs');
    const name = unique('persist');
    const first = await startKeyVaultServer({ certDir, dataFile, acceptedTokens: [TOKEN] });
    const ref = await storeFor(TOKEN, undefined, first.url).setSecret(name, 'survives');
    await first.close();
    expect((await stat(dataFile)).mode & 0o777).toBe(0o600);

    const second = await startKeyVaultServer({ certDir, dataFile, acceptedTokens: [TOKEN] });
    try {
      expect(await storeFor(TOKEN, undefined, second.url).getSecret(ref)).toBe('survives');
    } finally {
      await second.close();
    }
  });

  it('honours Retry-After on an injected 429 and then succeeds', async () => {
    const store = storeFor();
    const ref = await store.setSecret(unique('throttled'), 'patient');
    vault.injectFaults({ status: 429, retryAfterSeconds: 1, times: 1 });
    vault.resetStats();
    const started = Date.now();
    expect(await store.getSecret(ref)).toBe('patient');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(vault.stats().getSecret).toBe(2);
  });

  it('surfaces 503s beyond the retry budget as an unavailable error', async () => {
    const retry = { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 5 };
    const store = storeFor(TOKEN, retry);
    const ref = await store.setSecret(unique('unavailable'), 'later');
    vault.injectFaults({ status: 503, times: 3 });
    vault.resetStats();
    const error = await storeError(store.getSecret(ref));
    expect(error).toMatchObject({ kind: 'unavailable', statusCode: 503 });
    expect(vault.stats().getSecret).toBe(3); // first try + 2 retries
    vault.injectFaults({ status: 503, times: 2 });
    expect(await store.getSecret(ref)).toBe('later'); // within the budget
  });

  it('counts reads per operation', async () => {
    const store = storeFor();
    const ref = await store.setSecret(unique('stats'), 'counted');
    vault.resetStats();
    for (let i = 0; i < 3; i += 1) await store.getSecret(ref);
    expect(vault.stats()).toEqual({ getSecret: 3 });
  });
});

describe('local Key Vault input handling', () => {
  it('answers bad input with Key Vault errors', async () => {
    const put = (path: string, body: string | Buffer, headers?: Record<string, string>) =>
      raw('PUT', `${path}?${API}`, { body, ...(headers && { headers }) });
    expect((await put('/secrets/bad_name', '{"value":"x"}')).body.error?.code).toBe('BadParameter');
    expect((await put(`/secrets/${'a'.repeat(128)}`, '{"value":"x"}')).status).toBe(400);
    expect((await put(`/secrets/${unique('json')}`, '{not json')).status).toBe(400);
    expect((await put(`/secrets/${unique('novalue')}`, '{"contentType":"x"}')).status).toBe(400);
    expect((await put(`/secrets/${unique('big')}`, Buffer.alloc(1024 * 1024 + 1, 'a'))).status).toBe(413);
    expect((await raw('PUT', `/secrets/${unique('noapi')}`, { body: '{"value":"x"}' })).status).toBe(400);
    expect((await raw('GET', `/secrets/x/y/z?${API}`)).status).toBe(404);
    expect((await raw('GET', `/constructor?${API}`)).status).toBe(404);
    expect((await raw('POST', `/secrets/abc?${API}`)).status).toBe(405);
    expect((await raw('GET', `/secrets/%E0%A4%A?${API}`)).status).toBe(400);
    const missing = await raw('GET', `/secrets/${unique('missing')}/?${API}`);
    expect(missing.body.error?.code).toBe('SecretNotFound');
  });

  it('decodes the SDK-style api%2Dversion query', async () => {
    expect((await raw('GET', '/secrets?api%2Dversion=2025-07-01')).status).toBe(200);
  });

  it('never fails with a 5xx on arbitrary paths and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'POST'),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }),
        fc.oneof(fc.json(), fc.string()),
        async (method, segments, body) => {
          const path = `/${segments.map(encodeURIComponent).join('/')}?${API}`;
          const reply = await raw(method, path, { body });
          expect(reply.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
    // And it still works afterwards.
    const store = storeFor();
    expect(await store.getSecret(await store.setSecret(unique('alive'), 'ok'))).toBe('ok');
  });
});
