/**
 * The API's command signer under Key Vault's key budget (local/keyvault/throttle.ts, a 1 s
 * window standing for the 10 s one): a fan-out's burst of signs outruns the budget, the vault
 * answers 429 with Retry-After, and every sign still succeeds — the signer waits what the vault
 * asks after the SDK's own retries are spent — unless its patience runs out first.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROLES, deployCommandSigningKey } from '../../local/keyvault/fleet-roles.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import {
  KeyVaultCommandSigningKey,
  keyClientOptions,
  SigningKeyError,
} from '../../shared/adapters/keyvault-command-key.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { COMMAND_SIGNING_KEY } from '../../shared/signing.js';

const TOKEN = `api-${randomUUID()}`;
let dir: string;
let vault: LocalKeyVault;
let options: ReturnType<typeof keyClientOptions>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-sign-throttle-'));
  vault = await startKeyVaultServer({
    certDir: join(dir, 'certs'),
    principals: [{ name: 'api', token: TOKEN, roles: API_ROLES }],
    throttle: { windowMs: 1000, limits: { keyOther: 3, keyCreate: 3 } },
  });
  // No SDK retries: what is tested is the signer's own patience.
  options = keyClientOptions({
    caCertPem: await readFile(vault.caCertPath, 'utf8'),
    retryOptions: { maxRetries: 0 },
  });
  await deployCommandSigningKey(vault);
});

afterAll(async () => {
  await vault?.close();
  await rm(dir, { recursive: true, force: true });
});

const signer = (patienceMs?: number) => {
  const credential = new StaticTokenCredential(TOKEN);
  return new KeyVaultCommandSigningKey(
    new KeyClient(vault.url, credential, options),
    credential,
    options,
    COMMAND_SIGNING_KEY,
    Date.now,
    patienceMs,
  );
};

describe('signing under the vault key budget', () => {
  it('a burst of signs larger than the budget all succeed, after 429s', async () => {
    const before = vault.stats().throttled ?? 0;
    const key = signer();
    const signed = await Promise.all(Array.from({ length: 7 }, (_, i) => key.sign(Buffer.alloc(32, i))));
    expect(signed.map((s) => s.signature.length)).toEqual(Array(7).fill(64));
    expect((vault.stats().throttled ?? 0) - before).toBeGreaterThan(0);
  });

  it('with no patience left, a throttled sign fails with the status, not the response', async () => {
    const key = signer(0);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => key.sign(Buffer.alloc(32, i))),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toBeInstanceOf(SigningKeyError);
      expect(error).toMatchObject({ statusCode: 429, vaultCode: 'Throttled' });
    }
  });
});
