/**
 * Least privilege per ccs-id in the local vault (issue 17), through the REAL SecretClient: one
 * fleet's agents (fleet-roles.ts `fleetAgentRoles`, the condition infra/app/fleet-rbac.bicep
 * assigns in Azure) read their own ccs-id's two secrets, every version, and the PFX of the
 * certificates named `ccs-<ccs-id>--…` (their publishing sources), and nothing else — not a
 * ccs-id their id is a prefix of, not a certificate outside the rule, not a list — and cannot
 * write or sign.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployCommandSigningKey, fleetPrincipals } from '../../local/keyvault/fleet-roles.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { secretName } from '../../shared/names.js';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { COMMAND_SIGNING_KEY } from '../../shared/signing.js';
import { CertificateClient } from '@azure/keyvault-certificates';
import { writePfx } from '../../shared/pkcs12/writer.js';
import { makeCertificate } from '../support/certificates.js';

const API = `api-${randomUUID()}`;
const AGENT = `agent-${randomUUID()}`;
const OPERATOR = `operator-${randomUUID()}`;
/** Certificates imported by the operator: each one's PFX is its managed secret of the same name. */
const CERTIFICATES = ['ccs-fleet-a--www-contoso', 'ccs-fleet-a-b--www-contoso', 'www-contoso'];
let dir: string;
let vault: LocalKeyVault;
let ca: string;

const options = () => ({
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
  tlsOptions: { ca },
});
const secretsFor = (token: string) =>
  new SecretClient(vault.url, new StaticTokenCredential(token), options());

async function refusal(promise: Promise<unknown>): Promise<{ statusCode?: number; code?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { statusCode?: number; code?: string },
  );
  if (!error) expect.unreachable('expected a refusal');
  return error;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-fleet-roles-'));
  vault = await startKeyVaultServer({
    port: 0,
    certDir: join(dir, 'certs'),
    principals: fleetPrincipals({ api: API, agent: AGENT, operator: OPERATOR }, 'fleet-a'),
  });
  ca = await readFile(vault.caCertPath, 'utf8');
  await deployCommandSigningKey(vault);
  const api = secretsFor(API);
  for (const ccsId of ['fleet-a', 'fleet-a-b', 'fleet-b']) {
    await api.setSecret(secretName(ccsId, 'identity-password'), `pw-${ccsId}`);
    await api.setSecret(secretName(ccsId, 'private-key-password'), `pk-${ccsId}`);
  }
  const cert = await makeCertificate(['www.contoso.com']);
  const pfx = writePfx(
    { privateKey: cert.privateKey, certificates: [cert.certificate.raw] },
    '',
    'aes256-sha256',
  );
  const operator = new CertificateClient(vault.url, new StaticTokenCredential(OPERATOR), options());
  for (const name of CERTIFICATES) await operator.importCertificate(name, pfx);
});

afterAll(async () => {
  await vault?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("one fleet's agents in the local vault", () => {
  it('read their own two secrets, by name and by version', async () => {
    const agent = secretsFor(AGENT);
    expect((await agent.getSecret(secretName('fleet-a', 'identity-password'))).value).toBe('pw-fleet-a');
    const pk = await agent.getSecret(secretName('fleet-a', 'private-key-password'));
    expect(pk.value).toBe('pk-fleet-a');
    const byVersion = await agent.getSecret(pk.name, { version: pk.properties.version! });
    expect(byVersion.value).toBe('pk-fleet-a');
  });

  it("are refused another ccs-id's secrets with 403 ForbiddenByRbac, also one whose id theirs prefixes", async () => {
    const agent = secretsFor(AGENT);
    for (const ccsId of ['fleet-a-b', 'fleet-b']) {
      for (const kind of ['identity-password', 'private-key-password'] as const) {
        expect(await refusal(agent.getSecret(secretName(ccsId, kind)))).toMatchObject({
          statusCode: 403,
          code: 'Forbidden',
        });
      }
    }
  });

  it("read their sources' certificate secrets (named ccs-<ccs-id>--…) by exact version, and no other certificate's", async () => {
    const agent = secretsFor(AGENT);
    const [own, longer, outside] = CERTIFICATES as [string, string, string];
    const latest = await agent.getSecret(own);
    expect(latest.properties.contentType).toBe('application/x-pkcs12');
    const byVersion = await agent.getSecret(own, { version: latest.properties.version! });
    expect(byVersion.value).toBe(latest.value);
    for (const name of [longer, outside]) {
      expect(await refusal(agent.getSecret(name)), name).toMatchObject({
        statusCode: 403,
        code: 'Forbidden',
      });
    }
  });

  it('can neither list secrets, nor write one, nor sign a command', async () => {
    const agent = secretsFor(AGENT);
    expect(await refusal(agent.listPropertiesOfSecrets().next())).toMatchObject({ statusCode: 403 });
    expect(await refusal(agent.setSecret(secretName('fleet-a', 'identity-password'), 'x'))).toMatchObject({
      statusCode: 403,
    });
    const credential = new StaticTokenCredential(AGENT);
    const key = await new KeyClient(vault.url, credential, options()).getKey(COMMAND_SIGNING_KEY);
    const crypto = new CryptographyClient(key, credential, options());
    expect(await refusal(crypto.sign('ES256', Buffer.alloc(32)))).toMatchObject({ statusCode: 403 });
  });
});
