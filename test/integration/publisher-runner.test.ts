/**
 * The elected host's publisher (agent/publish/runner.ts) on a real folder: a publish run sent in
 * chunks runs once all of them arrived and reports every file it owns; a source whose secret
 * cannot be read keeps its files; the store must be an allowed location with the write claim;
 * the two rotation steps stage a re-encrypted copy, then re-encrypt the store, and refuse a
 * store holding files the publisher did not write unless forced.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PublisherRunner } from '../../agent/publish/runner.js';
import { SecretCache } from '../../agent/secrets.js';
import { MESSAGE_VERSION, type Report, type SecretRef } from '../../shared/messages.js';
import { describePfx, verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import { writePfx } from '../../shared/pkcs12/writer.js';
import type {
  PublishCommand,
  PublishReport,
  ReencryptCommand,
  ReencryptReport,
} from '../../shared/publishing/messages.js';
import { choosePfxProfile } from '../../shared/pkcs12/profiles.js';
import { makeCertificate, opensslPkcs12Info, type TestCertificate } from '../support/certificates.js';

const STORE = 'C:\\ccs';
const OLD = { name: 'ccs-default-private-key-password', version: 'k1' };
const NEW = { name: 'ccs-default-private-key-password', version: 'k2' };
const PASSWORDS: Record<string, string> = { k1: 'Old-Password-1', k2: 'New-Password-2' };

let folder: string;
let www: TestCertificate;
let api: TestCertificate;
let reports: Report[];
let vaultDown: Set<string>;

/** Key Vault as the agent reads it: private-key password versions, certificates' managed secrets (base64 PFX). */
function secretStore(certs: Record<string, TestCertificate>) {
  return {
    getSecret: (ref: SecretRef): Promise<string> => {
      if (vaultDown.has(ref.name))
        return Promise.reject(Object.assign(new Error('throttled'), { statusCode: 429 }));
      if (ref.name === OLD.name) return Promise.resolve(PASSWORDS[ref.version]!);
      const cert = certs[ref.name]!;
      return Promise.resolve(
        writePfx(
          { privateKey: cert.privateKey, certificates: [cert.certificate.raw] },
          '',
          'tripledes-sha1',
        ).toString('base64'),
      );
    },
    setSecret: () => Promise.reject(new Error('read only')),
    deleteSecret: () => Promise.reject(new Error('read only')),
  };
}

function runner(claims: ('read' | 'write')[] = ['read', 'write']) {
  const store = secretStore({ www, api });
  return new PublisherRunner({
    ccsId: 'default',
    hostName: 'web-01',
    // A vault that stays throttled: no patience, the 429 is the answer (agent/secrets.ts).
    secrets: new SecretCache(store, undefined, 0),
    sourceSecrets: store,
    reports: { send: (r: Report) => Promise.resolve(void reports.push(r)) },
    environment: {},
    allowedLocations: [{ path: STORE, claims }],
    // As the simulated backend does: the store path is a folder of this machine.
    backend: { publishFolder: () => Promise.resolve(folder) },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => new Date(),
  });
}

const publishCommand = (
  seq: number,
  index: number,
  count: number,
  sources: PublishCommand['sources'],
): PublishCommand => ({
  v: MESSAGE_VERSION,
  type: 'publish',
  ccsId: 'default',
  host: 'web-01',
  seq,
  chunk: { index, count },
  path: STORE,
  privateKeyPassword: OLD,
  profile: 'aes256-sha256',
  sources,
  orphanAfterSeconds: 60,
  issuedAt: new Date().toISOString(),
});

const step = (kind: 'stage' | 'in-place', force = false): ReencryptCommand => ({
  v: MESSAGE_VERSION,
  type: 'reencrypt',
  ccsId: 'default',
  host: 'web-01',
  operationId: 'op-1',
  step: kind,
  path: STORE,
  stage: '.ccs-rotation-k2',
  from: OLD,
  to: NEW,
  profile: 'aes256-sha256',
  force,
  issuedAt: new Date().toISOString(),
});

const publishReports = () => reports.filter((r): r is PublishReport => r.type === 'publish');
const lastStep = () => reports.filter((r): r is ReencryptReport => r.type === 'reencrypt').at(-1);
const pfx = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.pfx')).sort();

beforeAll(async () => {
  [www, api] = await Promise.all([
    makeCertificate(['www.contoso.com', '*.contoso.com']),
    makeCertificate(['api.contoso.com']),
  ]);
});
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ccs-runner-'));
  reports = [];
  vaultDown = new Set();
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('the publisher runner', () => {
  it('runs once every chunk arrived, and reports every file it owns', async () => {
    const publisher = runner();
    await publisher.run(publishCommand(1, 1, 2, [{ name: 'api', version: 'a1', format: 'pfx' }]));
    expect(reports).toEqual([]);
    expect(await pfx(folder)).toEqual([]);
    await publisher.run(publishCommand(1, 0, 2, [{ name: 'www', version: 'w1', format: 'pfx' }]));
    expect(await pfx(folder)).toEqual(['_.contoso.com.pfx', 'api.contoso.com.pfx', 'www.contoso.com.pfx']);
    const [report] = publishReports();
    expect(report).toMatchObject({
      seq: 1,
      chunk: { index: 0, count: 1 },
      error: null,
      counts: { written: 3 },
    });
    expect(report!.files.map((f) => [f.file, f.source, f.version, f.passwordVersion])).toEqual([
      ['_.contoso.com.pfx', 'www', 'w1', 'k1'],
      ['api.contoso.com.pfx', 'api', 'a1', 'k1'],
      ['www.contoso.com.pfx', 'www', 'w1', 'k1'],
    ]);
    expect(verifyPfxPassword(await readFile(join(folder, 'www.contoso.com.pfx')), 'Old-Password-1')).toBe(
      'ok',
    );
  });

  it('writes Windows legacy algorithms for a fleet with a Server 2016 host, AES-256 for a newer fleet', async () => {
    const publisher = runner();
    const fleets = {
      'tripledes-sha1': [
        { host: 'web-01', osVersion: '10.0.14393' },
        { host: 'web-02', osVersion: '10.0.20348' },
      ],
      'aes256-sha256': [
        { host: 'web-01', osVersion: '10.0.17763' },
        { host: 'web-02', osVersion: '10.0.26100' },
      ],
    };
    let seq = 0;
    for (const [expected, fleet] of Object.entries(fleets)) {
      const { profile } = choosePfxProfile(fleet);
      expect(profile).toBe(expected);
      await publisher.run({
        ...publishCommand(++seq, 0, 1, [{ name: 'www', version: 'w1', format: 'pfx' }]),
        profile,
      });
      const file = await readFile(join(folder, 'www.contoso.com.pfx'));
      const info = await opensslPkcs12Info(file, 'Old-Password-1');
      const { encryption } = describePfx(file, 'Old-Password-1');
      if (profile === 'tripledes-sha1') {
        expect(encryption).toMatchObject({ mac: expect.stringMatching(/sha-?1/i) });
        expect(info).toContain('MAC: sha1');
        expect(info).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC');
      } else {
        expect(encryption).toMatchObject({ mac: expect.stringMatching(/sha-?256/i) });
        expect(info).toContain('MAC: sha256');
        expect(info).toContain('Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC');
      }
    }
  });

  it("keeps a source's files when its secret cannot be read, and says why", async () => {
    const publisher = runner();
    const both = [
      { name: 'www', version: 'w1', format: 'pfx' as const },
      { name: 'api', version: 'a1', format: 'pfx' as const },
    ];
    await publisher.run(publishCommand(1, 0, 1, both));
    vaultDown.add('api');
    await publisher.run(publishCommand(2, 0, 1, [both[0]!, { ...both[1]!, version: 'a2' }]));
    expect(await pfx(folder)).toContain('api.contoso.com.pfx');
    expect(publishReports().at(-1)!.errors).toMatchObject([
      {
        source: 'api',
        version: 'a2',
        code: 'secret_unavailable',
        detail: expect.stringContaining('HTTP 429'),
      },
    ]);
  });

  it('refuses a run older than the one that last changed the share (a publisher back from the dead), writing nothing', async () => {
    const publisher = runner();
    const issued = (ms: number) => new Date(Date.now() - ms).toISOString();
    // Run 2 (issued after run 1) was handed to this host and published version w2…
    await publisher.run({
      ...publishCommand(2, 0, 1, [{ name: 'www', version: 'w2', format: 'pfx' }]),
      issuedAt: issued(1000),
    });
    const after = await readFile(join(folder, 'www.contoso.com.pfx'));
    // …then the dead publisher's run 1 (w1) arrives late: refused, the share unchanged.
    await publisher.run({
      ...publishCommand(1, 0, 1, [{ name: 'www', version: 'w1', format: 'pfx' }]),
      issuedAt: issued(60_000),
    });
    expect(publishReports().at(-1)).toMatchObject({
      seq: 1,
      error: { code: 'StaleRun', status: 409 },
      files: [],
    });
    expect(await readFile(join(folder, 'www.contoso.com.pfx'))).toEqual(after);
    // A lower number issued later (the API's state was lost and numbers start again) still runs.
    await publisher.run({
      ...publishCommand(1, 0, 1, [{ name: 'api', version: 'a1', format: 'pfx' }]),
      issuedAt: issued(0),
    });
    expect(publishReports().at(-1)).toMatchObject({ seq: 1, error: null });
    expect(await pfx(folder)).toContain('api.contoso.com.pfx');
  });

  it('refuses a store without the write claim, writing nothing', async () => {
    await runner(['read']).run(publishCommand(1, 0, 1, [{ name: 'www', version: 'w1', format: 'pfx' }]));
    expect(publishReports()[0]).toMatchObject({ error: { code: 'PathForbidden', status: 403 }, files: [] });
    expect(await pfx(folder)).toEqual([]);
  });

  it('stages a re-encrypted copy, leaving the store as it is, then re-encrypts the store', async () => {
    const publisher = runner();
    await publisher.run(publishCommand(1, 0, 1, [{ name: 'www', version: 'w1', format: 'pfx' }]));
    const before = await readFile(join(folder, 'www.contoso.com.pfx'));

    await publisher.run(step('stage'));
    expect(lastStep()).toMatchObject({ step: 'stage', outcome: 'succeeded', files: 2, foreign: [] });
    const stage = join(folder, '.ccs-rotation-k2');
    expect(await pfx(stage)).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    expect(verifyPfxPassword(await readFile(join(stage, 'www.contoso.com.pfx')), 'New-Password-2')).toBe(
      'ok',
    );
    expect(await readFile(join(folder, 'www.contoso.com.pfx'))).toEqual(before);

    await publisher.run(step('in-place'));
    expect(lastStep()).toMatchObject({ step: 'in-place', outcome: 'succeeded', files: 2 });
    expect(verifyPfxPassword(await readFile(join(folder, 'www.contoso.com.pfx')), 'New-Password-2')).toBe(
      'ok',
    );
  });

  it('refuses to rotate a store holding files it did not write, listing them, unless forced', async () => {
    const publisher = runner();
    await publisher.run(publishCommand(1, 0, 1, [{ name: 'www', version: 'w1', format: 'pfx' }]));
    await writeFile(join(folder, 'manual.contoso.com.pfx'), Buffer.from('copied by hand'));

    await publisher.run(step('stage'));
    expect(lastStep()).toMatchObject({
      outcome: 'failed',
      error: { code: 'ForeignFiles', status: 409 },
      foreign: ['manual.contoso.com.pfx'],
    });
    expect((await readdir(folder)).some((f) => f.startsWith('.ccs-rotation-'))).toBe(false);

    await publisher.run(step('stage', true));
    expect(lastStep()).toMatchObject({ outcome: 'succeeded', foreign: ['manual.contoso.com.pfx'] });
  });
});
