/**
 * Publishing faults through the API (issue 14): the real API (in-process Azurite, the local Key
 * Vault spoken to by the real SDKs, the real handlers) elects a host, and that host runs the real
 * publisher runner (agent/publish/runner.ts) over a real folder, reading the sources' secrets with
 * the agents' own Key Vault identity; its signed reports are folded by the API. For each fault:
 * the error as `GET …/sources` shows it, nothing half-written in the share, the previous files
 * still there and whole, and the next run after the fault clears publishes.
 *
 * The API's clock is the system clock: "an interval later" moves `Date` forward (vi.setSystemTime,
 * only Date is faked) instead of sleeping.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateClient } from '@azure/keyvault-certificates';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvocationContext } from '@azure/functions';
import { PublisherRunner } from '../../agent/publish/runner.js';
import { certificateNewVersion } from '../../functions/eventgrid/certificate-new-version.js';
import { FolderShare, type PublishShare } from '../../agent/publish/share.js';
import { SecretCache } from '../../agent/secrets.js';
import { PublishingSourcesSchema } from '../../functions/openapi/sources-schemas.js';
import { createSecretClient, KeyVaultSecretStore } from '../../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { readCertificateBundle } from '../../shared/pkcs12/bundle.js';
import type { PublishCommand } from '../../shared/publishing/messages.js';
import { writePfx } from '../../shared/pkcs12/writer.js';
import { readCa, readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { makeCertificate, opensslPfx, type TestCertificate } from '../support/certificates.js';
import { FakeHost } from '../support/fake-host.js';
import { FaultyShare, type FaultRule } from '../support/publish-share.js';

const CCS = 'pubfaults';
const STORE = 'C:\\certs';
const PK = 'Store-Pa55-faults';
const INTERVAL_MS = 300_000; // the API's default inventory interval
let api: ApiHarness;
let host: FakeHost;
let folder: string;
let vault: CertificateClient;
let runner: PublisherRunner;
let shareOf: (folder: string) => PublishShare;

const route = `/webserver/centralized-certificates/${CCS}`;
const sources = async () =>
  PublishingSourcesSchema.parse(await readJson(await api.request('GET', `${route}/sources`)));
const shareFiles = async () => (await readdir(folder)).sort();
const temps = async () => (await shareFiles()).filter((f) => f.endsWith('.tmp'));
const thumbprintOf = async (file: string) =>
  readCertificateBundle(await readFile(join(folder, file)), 'pfx', PK)
    .certificates[0]!.fingerprint.replace(/:/g, '')
    .toUpperCase();

/** The elected host works its queue: change commands answered as the fake host does, publish runs run for real. */
async function hostWorks(): Promise<PublishCommand[]> {
  const runs: PublishCommand[] = [];
  for (let round = 0; round < 5; round++) {
    const commands = await host.agentCommands();
    if (commands.length === 0) break;
    for (const command of commands) {
      if (command.type === 'publish') {
        runs.push(command);
        await runner.run(command);
      } else if (command.type === 'preflight' || command.type === 'apply') {
        await host.answer(command);
      }
    }
    await api.drainReports();
  }
  return runs;
}

/** An interval later (the API's clock), the timer's tick: retries and polls fall due. */
async function anIntervalLater(): Promise<void> {
  vi.setSystemTime(Date.now() + INTERVAL_MS + 1000);
  await api.app.publishing.runs.tick();
}

async function createCertificate(name: string, dnsNames: [string, ...string[]], exportable = true) {
  const poller = await vault.beginCreateCertificate(
    name,
    {
      issuerName: 'Self',
      subject: `CN=${dnsNames[0]}`,
      subjectAlternativeNames: { dnsNames },
      exportable,
      contentType: 'application/x-pkcs12',
    },
    { intervalInMs: 20 },
  );
  const created = await poller.pollUntilDone();
  return Buffer.from(created.properties.x509Thumbprint!).toString('hex').toUpperCase();
}

const plainPfx = (cert: TestCertificate) =>
  writePfx({ privateKey: cert.privateKey, certificates: [cert.certificate.raw] }, '', 'aes256-sha256');
const thumbprintOfCert = (cert: TestCertificate) =>
  cert.certificate.fingerprint.replace(/:/g, '').toUpperCase();

/** Whatever injected faults are left are used up by a client that does not retry. */
async function drainFaults(): Promise<void> {
  const probe = createSecretClient({
    vaultUrl: api.vault.url,
    credential: new StaticTokenCredential(api.agentVaultToken),
    caCertPem: readCa(api),
    retryOptions: { maxRetries: 0 },
  });
  for (let n = 0; n < 100; n++) {
    const status = await probe.getSecret('drain-probe').then(
      () => 200,
      (e: { statusCode?: number }) => e.statusCode,
    );
    if (status !== 429 && status !== 503) return;
  }
}

beforeAll(async () => {
  api = await startApiHarness();
  folder = await mkdtemp(join(tmpdir(), 'ccs-pubfaults-'));
  const ca = readCa(api);
  vault = new CertificateClient(api.vault.url, new StaticTokenCredential(api.operatorVaultToken), {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca },
  });
  // The agents' identity, as agent/wiring.ts builds its store (local retry settings).
  const agentStore = new KeyVaultSecretStore(
    createSecretClient({
      vaultUrl: api.vault.url,
      credential: new StaticTokenCredential(api.agentVaultToken),
      caCertPem: ca,
    }),
  );
  shareOf = (f) => new FolderShare(f);
  runner = new PublisherRunner({
    ccsId: CCS,
    hostName: 'web-01',
    secrets: new SecretCache(agentStore),
    sourceSecrets: agentStore,
    reports: { send: (report) => host.report(report) },
    environment: {},
    allowedLocations: [{ path: STORE, claims: ['read', 'write'] }],
    backend: { publishFolder: () => Promise.resolve(folder) },
    shareOf: (f) => shareOf(f),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => new Date(),
  });

  host = new FakeHost(api.storage, CCS, 'web-01', await api.enrolmentCode(CCS));
  await host.hello();
  await api.drainReports();
  const enable = await api.request('POST', route, {
    body: {
      path: STORE,
      identity: { username: 'CONTOSO\\ccs-reader', password: 'Share-Pa55' },
      private_key_password: PK,
    },
  });
  expect(enable.status, await enable.clone().text()).toBe(202);
  await hostWorks();
  await api.app.operations.advance(enable.headers.get('operation-location')!.split('/').pop()!);
  await hostWorks();
  // The inventory elects the host (the publisher is its scanner).
  await api.app.inventory.tick();
  expect((await api.stores.inventory.getLease(CCS)).lease.holder).toBe('web-01');

  // The baseline: one source, two files.
  await createCertificate('www-fabrikam', ['www.fabrikam.com', '*.fabrikam.com']);
  const put = await api.request('PUT', `${route}/sources`, {
    body: { certificates: [{ name: 'www-fabrikam' }] },
  });
  expect(put.status).toBe(200);
  await hostWorks();
  expect((await shareFiles()).filter((f) => f.endsWith('.pfx'))).toEqual([
    '_.fabrikam.com.pfx',
    'www.fabrikam.com.pfx',
  ]);
}, 120_000);

afterEach(async () => {
  shareOf = (f) => new FolderShare(f);
  await drainFaults();
});

afterAll(async () => {
  vi.useRealTimers();
  await api?.close();
  await rm(folder, { recursive: true, force: true });
});

describe('publishing faults, through the API', () => {
  it('an Event Grid CertificateNewVersionCreated event (the documented payload) makes the function ask for a run at once', async () => {
    const renewed = await createCertificate('www-fabrikam', ['www.fabrikam.com', '*.fabrikam.com']);
    const version = (await vault.getCertificate('www-fabrikam')).properties.version!;
    // The Event Grid schema event of "Azure Key Vault as an Event Grid source" (learn.microsoft.com/
    // azure/event-grid/event-schema-key-vault), for a certificate; Event Grid delivers one event per invocation.
    const event = {
      id: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
      topic:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
      subject: 'www-fabrikam',
      eventType: 'Microsoft.KeyVault.CertificateNewVersionCreated',
      eventTime: '2026-07-25T01:08:33.1036736Z',
      data: {
        Id: `https://kv.vault.azure.net/certificates/www-fabrikam/${version}`,
        VaultName: 'kv',
        ObjectType: 'Certificate',
        ObjectName: 'www-fabrikam',
        Version: version,
        NBF: '1559081980',
        EXP: '1559082102',
      },
      dataVersion: '1',
      metadataVersion: '1',
    };
    const before = (await sources()).publisher.run;
    await certificateNewVersion(event, new InvocationContext({ functionName: 'certificateNewVersion' }));
    expect(await hostWorks()).toHaveLength(1);
    expect((await sources()).publisher.run).toBe(before + 1);
    expect(await thumbprintOf('www.fabrikam.com.pfx')).toBe(renewed);
  });

  it('Key Vault throttles the publisher (429 with Retry-After) past its retries: secret_unavailable, the files kept; the retry publishes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const before = await thumbprintOf('www.fabrikam.com.pfx');
    const renewed = await createCertificate('www-fabrikam', ['www.fabrikam.com', '*.fabrikam.com']);
    expect(await api.app.publishing.runs.certificateChanged('www-fabrikam')).toBe(1);
    // Every attempt of the agent's client (it retries, waiting Retry-After) is answered 429.
    api.vault.injectFaults({ status: 429, retryAfterSeconds: 1, times: 20 });
    expect(await hostWorks()).toHaveLength(1);
    await drainFaults(); // the throttling ends
    const refused = await sources();
    expect(refused.publisher).toMatchObject({ last_error: null, reported_run: refused.publisher.run });
    expect(refused.publisher.refused).toMatchObject([
      { source: 'www-fabrikam', code: 'secret_unavailable', detail: expect.stringContaining('HTTP 429') },
    ]);
    expect(await thumbprintOf('www.fabrikam.com.pfx')).toBe(before);
    expect(await temps()).toEqual([]);

    await anIntervalLater();
    expect(await hostWorks()).toHaveLength(1);
    expect((await sources()).publisher.refused).toEqual([]);
    expect(await thumbprintOf('www.fabrikam.com.pfx')).toBe(renewed);
    expect(await thumbprintOf('_.fabrikam.com.pfx')).toBe(renewed);
  });

  it('a Key Vault outage at the API: a PUT is 503 with Retry-After and saves nothing; a poll keeps the versions it knew and says why', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const known = await sources();
    api.vault.injectFaults({ status: 503, times: 50 });
    const put = await api.request('PUT', `${route}/sources`, { body: { certificates: [] } });
    expect(put.status).toBe(503);
    expect(put.headers.get('retry-after')).toMatch(/^\d+$/);
    await anIntervalLater();
    const during = await sources();
    expect(during.certificates).toEqual(known.certificates);
    expect(during.resolved).toEqual(known.resolved);
    expect(during.publisher.key_vault_error).toMatchObject({ code: expect.any(String) });
    expect((await shareFiles()).filter((f) => f.endsWith('.pfx'))).toHaveLength(2);

    await drainFaults();
    await anIntervalLater();
    expect((await sources()).publisher.key_vault_error).toBeNull();
  });

  it.each([
    ['read-only', 'EROFS', 'ShareReadOnly'],
    ['full', 'ENOSPC', 'ShareFull'],
  ])(
    'a share that turns %s mid-publish: the run fails with %s, no half or temporary file, the old files serve; the retry publishes',
    async (_what, code, apiCode) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const before = await thumbprintOf('www.fabrikam.com.pfx');
      const renewed = await createCertificate('www-fabrikam', ['www.fabrikam.com', '*.fabrikam.com']);
      // The first temporary file is written; the second create fails as the file server would.
      let creates = 0;
      const rule: FaultRule = (operation) => (operation === 'create' && ++creates === 2 ? code : undefined);
      shareOf = (f) => new FaultyShare(new FolderShare(f), rule);
      await api.app.publishing.runs.certificateChanged('www-fabrikam');
      await hostWorks();
      const failed = await sources();
      expect(failed.publisher.last_error).toMatchObject({ code: apiCode, status: 409 });
      expect(failed.publisher.last_error?.detail).toContain('Files already in place are whole');
      expect(await temps()).toEqual([]);
      for (const file of ['www.fabrikam.com.pfx', '_.fabrikam.com.pfx'])
        expect(await thumbprintOf(file)).toBe(before);
      expect(failed.publisher.files).toBe(2);

      shareOf = (f) => new FolderShare(f);
      await anIntervalLater();
      await hostWorks();
      expect((await sources()).publisher.last_error).toBeNull();
      for (const file of ['www.fabrikam.com.pfx', '_.fabrikam.com.pfx'])
        expect(await thumbprintOf(file)).toBe(renewed);
    },
  );

  it('publishes a source imported as a PFX with a password, a PEM source and a certificate with 100 names', async () => {
    const withPassword = await makeCertificate(['secure.fabrikam.com']);
    await vault.importCertificate('pfx-with-password', await opensslPfx(withPassword, 'Import-Pa55'), {
      password: 'Import-Pa55',
    });
    const pem = await makeCertificate(['pem.fabrikam.com'], { keyType: 'EC' });
    const pemText =
      pem.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() + pem.certificate.toString();
    await vault.importCertificate('pem-source', Buffer.from(pemText), {
      policy: { contentType: 'application/x-pem-file', issuerName: 'Unknown' },
    });
    const hundred = Array.from(
      { length: 100 },
      (_, i) => `h${String(i).padStart(3, '0')}.hundred.fabrikam.com`,
    );
    const hundredThumbprint = await createCertificate('hundred-names', hundred as [string, ...string[]]);

    const put = await api.request('PUT', `${route}/sources`, {
      body: {
        certificates: [
          { name: 'www-fabrikam' },
          { name: 'pfx-with-password' },
          { name: 'pem-source' },
          { name: 'hundred-names' },
        ],
      },
    });
    expect(put.status).toBe(200);
    await hostWorks();
    const view = await sources();
    expect(view.publisher).toMatchObject({ last_error: null, refused: [] });
    expect(view.resolved.find((r) => r.name === 'pem-source')).toMatchObject({ format: 'pem' });
    expect(view.resolved.find((r) => r.name === 'hundred-names')?.files).toHaveLength(100);
    expect(await thumbprintOf('secure.fabrikam.com.pfx')).toBe(thumbprintOfCert(withPassword));
    expect(await thumbprintOf('pem.fabrikam.com.pfx')).toBe(thumbprintOfCert(pem));
    expect(
      readCertificateBundle(await readFile(join(folder, 'pem.fabrikam.com.pfx')), 'pfx', PK).privateKey,
    ).toBeDefined();
    for (const name of hundred) expect(await thumbprintOf(`${name}.pfx`), name).toBe(hundredThumbprint);
    expect(await temps()).toEqual([]);
  }, 60_000);

  it('refuses an expired, a not-yet-valid and a non-exportable certificate per source, writing nothing for them; a valid new version publishes', async () => {
    const now = Date.now();
    const expired = await makeCertificate(['old.fabrikam.com'], {
      notBefore: new Date(now - 400 * 86_400_000),
      notAfter: new Date(now - 86_400_000),
    });
    const future = await makeCertificate(['new.fabrikam.com'], {
      notBefore: new Date(now + 30 * 86_400_000),
      notAfter: new Date(now + 400 * 86_400_000),
    });
    await vault.importCertificate('expired-cert', plainPfx(expired));
    await vault.importCertificate('future-cert', plainPfx(future));
    await createCertificate('no-export', ['locked.fabrikam.com'], false);
    const listed = ['www-fabrikam', 'expired-cert', 'future-cert', 'no-export'].map((name) => ({ name }));
    const before = await shareFiles();

    const put = await api.request('PUT', `${route}/sources`, { body: { certificates: listed } });
    expect(put.status).toBe(200);
    await hostWorks();
    const view = await sources();
    expect(view.publisher.last_error).toBeNull();
    expect(
      view.publisher.refused.map((r) => [r.source, r.code]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    ).toEqual([
      ['expired-cert', 'expired'],
      ['future-cert', 'not_yet_valid'],
      ['no-export', 'no_private_key'],
    ]);
    const after = await shareFiles();
    for (const file of ['old.fabrikam.com.pfx', 'new.fabrikam.com.pfx', 'locked.fabrikam.com.pfx'])
      expect(after).not.toContain(file);
    // The sources no longer listed (the previous test's) were removed; www-fabrikam's files stay.
    expect(after).toEqual(expect.arrayContaining(['www.fabrikam.com.pfx', '_.fabrikam.com.pfx']));
    expect(before).toEqual(expect.arrayContaining(['www.fabrikam.com.pfx']));

    // The fault clears: a valid version of the expired certificate is imported and published.
    const valid = await makeCertificate(['old.fabrikam.com']);
    await vault.importCertificate('expired-cert', plainPfx(valid));
    await api.app.publishing.runs.certificateChanged('expired-cert');
    await hostWorks();
    const cleared = await sources();
    expect(cleared.publisher.refused.map((r) => r.source).sort()).toEqual(['future-cert', 'no-export']);
    expect(await thumbprintOf('old.fabrikam.com.pfx')).toBe(thumbprintOfCert(valid));
  }, 60_000);
});
