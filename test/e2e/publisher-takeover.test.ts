/**
 * A publisher host that dies mid-write (issue 14), with real agent processes: the elected
 * publisher SIGKILLs itself (crash point `publish-mid-write`) after writing a temporary file of its
 * run and before renaming anything, and stays down as a dead server would. The API hands the
 * inventory lease — and with it the publish run — to the other host, which finishes the run; the
 * share never holds half a `.pfx`; the dead run's temporary file is removed by a later run once
 * older than the orphan age (the inventory interval, at least 60 s), without anything else asking.
 * When the dead host comes back, the run it never finished is refused as stale: it cannot put an
 * older version back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateClient } from '@azure/keyvault-certificates';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishingSourcesSchema } from '../../functions/openapi/sources-schemas.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { readCertificateBundle } from '../../shared/pkcs12/bundle.js';
import { verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import {
  countLines,
  startFaultStack,
  uniqueCanary,
  type FaultStack,
} from '../hardening/support/fault-stack.js';

const HOSTS = ['web-01', 'web-02'];
const SHARE_PASSWORD = uniqueCanary('share');
const PRIVATE_KEY_PASSWORD = uniqueCanary('pk');
const NAMES: [string, ...string[]] = ['www.fabrikam.com', 'shop.fabrikam.com', 'api.fabrikam.com'];
const FILES = NAMES.map((n) => `${n}.pfx`).sort();
let stack: FaultStack;

const resource = () => `/webserver/centralized-certificates/${stack.ccsId}`;
const shareFiles = () => readdirSync(stack.share.folder).sort();
const temps = () => shareFiles().filter((f) => f.startsWith('.ccs-publish-') && f.endsWith('.tmp'));
const thumbprintsOf = (files: string[]) =>
  files.map((file) =>
    readCertificateBundle(readFileSync(join(stack.share.folder, file)), 'pfx', PRIVATE_KEY_PASSWORD)
      .certificates[0]!.fingerprint.replace(/:/g, '')
      .toUpperCase(),
  );
const sources = async () =>
  PublishingSourcesSchema.parse((await stack.request('GET', `${resource()}/sources`)).json());

beforeAll(async () => {
  stack = await startFaultStack({
    hosts: HOSTS,
    privateKeyPassword: PRIVATE_KEY_PASSWORD,
    sharePassword: SHARE_PASSWORD,
    // Hand-over after two silent intervals: 10 s here; orphans go after 60 s (the floor).
    inventoryIntervalSeconds: 5,
    fleet: {
      // The elected host writes the share: the write claim on it.
      allowedLocations: (_host, defaults) =>
        defaults.map((l) => ({ ...l, claims: ['read', 'write'] as ('read' | 'write')[] })),
    },
  });
  const res = await stack.request('POST', resource(), {
    body: {
      path: stack.share.path,
      identity: { username: stack.share.username, password: SHARE_PASSWORD },
      private_key_password: PRIVATE_KEY_PASSWORD,
    },
    headers: { Prefer: 'wait=40' },
  });
  expect(res.status, res.text).toBe(200);
}, 180_000);

afterAll(async () => {
  await stack?.close();
});

describe('a publisher host that dies mid-write', () => {
  it('is replaced by another host that finishes the run; no half file; its orphan goes once old enough', async () => {
    const vault = new CertificateClient(
      stack.vault.url,
      new StaticTokenCredential(stack.vaultTokens.operator),
      {
        disableChallengeResourceVerification: true,
        tlsOptions: { ca: readFileSync(stack.vault.caCertPath, 'utf8') },
      },
    );
    const poller = await vault.beginCreateCertificate(
      'fabrikam-web',
      {
        issuerName: 'Self',
        subject: `CN=${NAMES[0]}`,
        subjectAlternativeNames: { dnsNames: NAMES },
        exportable: true,
        contentType: 'application/x-pkcs12',
      },
      { intervalInMs: 50 },
    );
    const created = await poller.pollUntilDone();
    const thumbprint = Buffer.from(created.properties.x509Thumbprint!).toString('hex').toUpperCase();

    // The elected publisher is the inventory's lease holder; it dies at its run and stays down.
    const publisher = await stack.waitFor(
      async () => (await stack.stores.inventory.getLease(stack.ccsId)).lease.holder ?? undefined,
      'an elected scanner',
      60_000,
    );
    const survivor = HOSTS.find((h) => h !== publisher)!;
    const dead = stack.agents.get(publisher)!;
    const kills = dead.exits.filter((e) => e.signal === 'SIGKILL').length;
    stack.hold(publisher);
    await stack.arm(publisher, 'publish-mid-write', 'publish');
    const before = shareFiles().filter((f) => f.endsWith('.pfx'));

    const put = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'fabrikam-web' }] },
    });
    expect(put.status, put.text).toBe(200);
    await stack.waitFor(
      () => dead.exits.filter((e) => e.signal === 'SIGKILL').length > kills,
      `${publisher} to die mid-write`,
      60_000,
    );
    // Killed after its first temporary file: nothing renamed, no .pfx of the run, the old files whole.
    const orphans = temps();
    expect(orphans.length).toBeGreaterThan(0);
    expect(shareFiles().filter((f) => f.endsWith('.pfx'))).toEqual(before);
    for (const file of before) {
      expect(
        verifyPfxPassword(readFileSync(join(stack.share.folder, file)), PRIVATE_KEY_PASSWORD),
        file,
      ).toBe('ok');
    }

    // The lease (scans unanswered for two intervals) and the outstanding run move to the survivor.
    const finished = await stack.waitFor(
      async () => {
        const view = await sources();
        const done =
          view.publisher.host === survivor &&
          view.publisher.reported_run === view.publisher.run &&
          view.publisher.last_error === null &&
          view.publisher.files === FILES.length;
        return done && view;
      },
      `${survivor} to finish the run`,
      90_000,
    );
    expect((await stack.stores.inventory.getLease(stack.ccsId)).lease.holder).toBe(survivor);
    expect(finished.resolved).toMatchObject([{ name: 'fabrikam-web', thumbprint, problem: null }]);
    expect(shareFiles().filter((f) => FILES.includes(f))).toEqual(FILES);
    for (const file of FILES) {
      const bundle = readCertificateBundle(
        readFileSync(join(stack.share.folder, file)),
        'pfx',
        PRIVATE_KEY_PASSWORD,
      );
      expect(bundle.privateKey, file).toBeDefined();
      expect(bundle.certificates[0]!.fingerprint.replace(/:/g, '')).toBe(thumbprint);
    }

    // The dead run's temporary file: removed by a run the API asks for once it is older than the orphan age.
    const tidy = await stack.waitFor(
      async () => {
        const view = await sources();
        return temps().length === 0 && (view.publisher.counts?.tempFilesRemoved ?? 0) > 0 && view;
      },
      'the orphaned temporary file to be removed',
      150_000,
    );
    expect(tidy.publisher.counts?.tempFilesRemoved).toBe(orphans.length);
    expect(tidy.publisher.host).toBe(survivor);
    expect(shareFiles().filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // A new version, published by the survivor; then the dead host comes back and finds its old
    // run on its queue: refused as stale (the share's record names a later run), nothing written.
    const renewed = await vault.beginCreateCertificate('fabrikam-web', created.policy!, { intervalInMs: 50 });
    const next = await renewed.pollUntilDone();
    const nextThumbprint = Buffer.from(next.properties.x509Thumbprint!).toString('hex').toUpperCase();
    await stack.waitFor(
      async () =>
        (await sources()).resolved[0]?.thumbprint === nextThumbprint &&
        thumbprintsOf(FILES).every((t) => t === nextThumbprint),
      'the new version in the share',
      60_000,
    );
    stack.release(publisher);
    await stack.waitFor(
      () => countLines(dead.logFile, '"code":"StaleRun"') > 0,
      `${publisher} to refuse its stale run`,
      60_000,
    );
    expect(thumbprintsOf(FILES)).toEqual(FILES.map(() => nextThumbprint));
    expect((await sources()).publisher.host).toBe(survivor);
  }, 360_000);
});
