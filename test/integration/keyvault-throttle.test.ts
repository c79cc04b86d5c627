/**
 * The local Key Vault's documented rate limits (local/keyvault/throttle.ts) as the REAL
 * SecretClient meets them: 429 + Retry-After once a 10-second budget is spent, refused requests
 * not counted, the budget back when the window slides; and the jitter policy
 * (shared/adapters/retry-after-jitter.ts) seeing the 429 inside the SDK's retry loop.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import {
  createSecretClient,
  KeyVaultSecretStore,
  SecretStoreError,
} from '../../shared/adapters/keyvault-secret-store.js';
import { jitterPolicies } from '../../shared/adapters/retry-after-jitter.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';

const TOKEN = `token-${randomUUID()}`;
let dir: string;
let vault: LocalKeyVault;
let ca: string;
let clock = 1_000_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-kv-throttle-'));
  vault = await startKeyVaultServer({
    certDir: join(dir, 'certs'),
    acceptedTokens: [TOKEN],
    throttle: { limits: { secretCreate: 1, secretOther: 3 }, now: () => clock },
  });
  ca = await readFile(vault.caCertPath, 'utf8');
});

afterAll(async () => {
  await vault?.close();
  await rm(dir, { recursive: true, force: true });
});

const noRetry = () =>
  new KeyVaultSecretStore(
    createSecretClient({
      vaultUrl: vault.url,
      credential: new StaticTokenCredential(TOKEN),
      caCertPem: ca,
      retryOptions: { maxRetries: 0 },
    }),
  );

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('local Key Vault throttling', () => {
  it('answers 429 Throttled past a 10-second budget, does not count refusals, and recovers as the window slides', async () => {
    const store = noRetry();
    const ref = await store.setSecret('throttled-a', 'first'); // secretCreate 1/1, secretOther 1/3
    const second = await rejection(store.setSecret('throttled-b', 'second'));
    expect(second).toBeInstanceOf(SecretStoreError);
    expect(second).toMatchObject({ statusCode: 429, vaultCode: 'Throttled' });

    expect(await store.getSecret(ref)).toBe('first'); // secretOther 2/3
    expect(await store.getSecret(ref)).toBe('first'); // 3/3
    const refused = await rejection(store.getSecret(ref));
    expect(refused).toMatchObject({ statusCode: 429, vaultCode: 'Throttled' });
    expect(vault.stats().throttled).toBe(2);

    clock += 9_999; // the window still holds the three reads
    expect(await rejection(store.getSecret(ref))).toMatchObject({ statusCode: 429 });
    clock += 1; // 10 s after the first: one slot frees, and refusals spent none
    expect(await store.getSecret(ref)).toBe('first');
    clock += 10_000;
    expect((await store.setSecret('throttled-b', 'second')).name).toBe('throttled-b');
  });

  it("a throttled read is retried by the SDK after Retry-After plus the jitter policy's share", async () => {
    const client = new SecretClient(vault.url, new StaticTokenCredential(TOKEN), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca },
      retryOptions: { maxRetries: 2 },
      additionalPolicies: [
        ...jitterPolicies({ random: () => 0.5 }),
        {
          // The window slides while the SDK waits its Retry-After.
          policy: {
            name: 'slideTheWindow',
            sendRequest: async (request, next) => {
              const response = await next(request);
              if (response.status === 429) clock += 1_000;
              return response;
            },
          },
          position: 'perRetry',
        },
      ],
    });
    clock += 10_000;
    const name = `patient-${randomUUID().slice(0, 8)}`;
    await client.setSecret(name, 'waited');
    for (let i = 0; i < 2; i++) await client.getSecret(name); // 3/3 with the set
    clock += 9_000; // Retry-After: 1 s
    vault.resetStats();
    const started = Date.now();
    expect((await client.getSecret(name)).value).toBe('waited');
    expect(vault.stats()).toMatchObject({ getSecret: 2, throttled: 1 });
    // 1 s announced, plus 0.5 × (0.5 s + 250 ms) of jitter.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_375 - 50);
  });
});
