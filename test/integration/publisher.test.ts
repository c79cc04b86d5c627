/**
 * The share publisher (agent/publish) on a real folder through FolderShare: IIS file names,
 * encryption profiles, ownership, removal, conflicts, re-encryption for a password rotation, and
 * the faults — a share that turns read-only or full mid-publish, a publisher that dies mid-write,
 * a source PFX with a password, a PEM source, a certificate with 100 names.
 */
import { readFile, readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PublishError } from '../../agent/publish/commit.js';
import { MANIFEST_FILE, type Manifest } from '../../agent/publish/manifest.js';
import { publish, type PublishRequest } from '../../agent/publish/publisher.js';
import { reencryptAll } from '../../agent/publish/reencrypt.js';
import { FolderShare } from '../../agent/publish/share.js';
import type { PublishSource } from '../../agent/publish/source.js';
import { readPfxCertificates, verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import type { PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { writePfx } from '../../shared/pkcs12/writer.js';
import {
  makeCertificate,
  opensslPfx,
  opensslPkcs12Info,
  type TestCertificate,
} from '../support/certificates.js';
import { FaultyShare, type FaultRule } from '../support/publish-share.js';

const DAY = 24 * 3600 * 1000;
const PASSWORD = { value: 'Store-Pa55', version: 'pw-v1' };
let folder: string;
let www: TestCertificate;
let wwwRenewed: TestCertificate;
let api: TestCertificate;
let ec: TestCertificate;
let expired: TestCertificate;
let future: TestCertificate;
let hundred: TestCertificate;

const kvSecrets = new Map<TestCertificate, Buffer>();
/** A source as Key Vault serves it: the secret's PFX, no password, TripleDES-SHA1. */
function kvSource(
  name: string,
  cert: TestCertificate,
  version = 'v1',
  extra: Partial<PublishSource> = {},
): PublishSource {
  const bytes =
    kvSecrets.get(cert) ??
    writePfx({ privateKey: cert.privateKey, certificates: [cert.certificate.raw] }, '', 'tripledes-sha1');
  kvSecrets.set(cert, bytes);
  return { name, version, format: 'pfx', bytes, ...extra };
}

const request = (
  sources: PublishSource[],
  profile: PfxProfileId = 'aes256-sha256',
  password = PASSWORD,
): PublishRequest => ({
  sources,
  privateKeyPassword: password,
  profile,
});

const files = async () => (await readdir(folder)).sort();
const pfxFiles = async () => (await files()).filter((f) => f.endsWith('.pfx'));
const manifest = async () => JSON.parse(await readFile(join(folder, MANIFEST_FILE), 'utf8')) as Manifest;
const share = () => new FolderShare(folder);

beforeAll(async () => {
  const now = Date.now();
  [www, wwwRenewed, api, ec, expired, future, hundred] = await Promise.all([
    makeCertificate(['www.contoso.com', '*.contoso.com', 'contoso.com']),
    makeCertificate(['www.contoso.com', '*.contoso.com']),
    makeCertificate(['api.contoso.com']),
    makeCertificate(['ec.contoso.com'], { keyType: 'EC' }),
    makeCertificate(['old.contoso.com'], {
      notBefore: new Date(now - 400 * DAY),
      notAfter: new Date(now - 30 * DAY),
    }),
    makeCertificate(['new.contoso.com'], {
      notBefore: new Date(now + 30 * DAY),
      notAfter: new Date(now + 400 * DAY),
    }),
    makeCertificate(Array.from({ length: 100 }, (_, i) => `host${i}.fabrikam.com`)),
  ]);
});

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ccs-publish-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('publish', () => {
  it('writes one file per host name, `_.` for the wildcard, in the profile, and records them', async () => {
    const result = await publish(
      { share: share() },
      request([kvSource('www-cert', www), kvSource('ec-cert', ec)]),
    );
    expect(result.errors).toEqual([]);
    expect(await pfxFiles()).toEqual([
      '_.contoso.com.pfx',
      'contoso.com.pfx',
      'ec.contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
    for (const file of await pfxFiles()) {
      const contents = readPfxCertificates(await readFile(join(folder, file)), PASSWORD.value);
      expect(contents.encryption).toMatchObject({
        certBag: 'pbes2-aes-256-cbc',
        keyBag: 'pbes2-aes-256-cbc',
        mac: 'sha256',
      });
      expect(contents.keys).toHaveLength(1);
    }
    const info = await opensslPkcs12Info(await readFile(join(folder, '_.contoso.com.pfx')), PASSWORD.value);
    expect(info).toContain('PRF hmacWithSHA256');
    const record = (await manifest()).files['_.contoso.com.pfx'];
    expect(record).toMatchObject({
      source: 'www-cert',
      version: 'v1',
      thumbprint: www.certificate.fingerprint.replace(/:/g, ''),
      profile: 'aes256-sha256',
      passwordVersion: 'pw-v1',
    });
    expect(JSON.stringify(await manifest())).not.toContain(PASSWORD.value);

    const again = await publish(
      { share: share() },
      request([kvSource('www-cert', www), kvSource('ec-cert', ec)]),
    );
    expect(again.written).toEqual([]);
    expect(again.unchanged.sort()).toEqual([
      '_.contoso.com.pfx',
      'contoso.com.pfx',
      'ec.contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
  });

  it('writes Windows’ legacy algorithms for a fleet with Server 2016', async () => {
    await publish({ share: share() }, request([kvSource('api-cert', api)], 'tripledes-sha1'));
    const bytes = await readFile(join(folder, 'api.contoso.com.pfx'));
    expect(readPfxCertificates(bytes, PASSWORD.value).encryption).toMatchObject({
      certBag: 'pbe-sha1-3des',
      keyBag: 'pbe-sha1-3des',
      mac: 'sha1',
    });
    expect(await opensslPkcs12Info(bytes, PASSWORD.value)).toContain('pbeWithSHA1And3-KeyTripleDES-CBC');
  });

  it('publishes a PFX source with a password and a PEM source with an encrypted key', async () => {
    const pem =
      ec.privateKey
        .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pem-pw' })
        .toString() + ec.certificate.toString();
    const result = await publish(
      { share: share() },
      request([
        {
          name: 'api-cert',
          version: 'v1',
          format: 'pfx',
          bytes: await opensslPfx(api, 'src-pw', true),
          password: 'src-pw',
        },
        { name: 'ec-cert', version: 'v1', format: 'pem', bytes: Buffer.from(pem), password: 'pem-pw' },
      ]),
    );
    expect(result.errors).toEqual([]);
    expect(await pfxFiles()).toEqual(['api.contoso.com.pfx', 'ec.contoso.com.pfx']);
    expect(verifyPfxPassword(await readFile(join(folder, 'ec.contoso.com.pfx')), PASSWORD.value)).toBe('ok');
  });

  it('refuses, per source, no key, expired, not yet valid and a wrong password — writing nothing for them', async () => {
    const keyless = {
      ...kvSource('sealed', api),
      bytes: writePfx({ privateKey: null, certificates: [api.certificate.raw] }, '', 'tripledes-sha1'),
    };
    const result = await publish(
      { share: share() },
      request([
        keyless,
        kvSource('old', expired),
        kvSource('new', future),
        {
          name: 'locked',
          version: 'v1',
          format: 'pfx',
          bytes: await opensslPfx(ec, 'right'),
          password: 'wrong',
        },
        kvSource('www-cert', www),
      ]),
    );
    expect(result.errors.map((e) => [e.source, e.code])).toEqual([
      ['sealed', 'no_private_key'],
      ['old', 'expired'],
      ['new', 'not_yet_valid'],
      ['locked', 'wrong_password'],
    ]);
    expect(JSON.stringify(result.errors)).not.toMatch(/right|wrong"/);
    expect(await pfxFiles()).toEqual(['_.contoso.com.pfx', 'contoso.com.pfx', 'www.contoso.com.pfx']);
  });

  it('never replaces a file it did not write unless the source says overwrite', async () => {
    await writeFile(join(folder, 'api.contoso.com.pfx'), 'hand-made');
    const refused = await publish({ share: share() }, request([kvSource('api-cert', api)]));
    expect(refused.errors).toEqual([
      expect.objectContaining({ code: 'file_not_owned', files: ['api.contoso.com.pfx'] }),
    ]);
    expect(await readFile(join(folder, 'api.contoso.com.pfx'), 'utf8')).toBe('hand-made');

    const taken = await publish(
      { share: share() },
      request([kvSource('api-cert', api, 'v1', { overwrite: true })]),
    );
    expect(taken.written.map((w) => w.file)).toEqual(['api.contoso.com.pfx']);
    expect(verifyPfxPassword(await readFile(join(folder, 'api.contoso.com.pfx')), PASSWORD.value)).toBe('ok');
  });

  it('replaces a new version in place and removes the names it dropped', async () => {
    await publish({ share: share() }, request([kvSource('www-cert', www)]));
    const renewed = await publish({ share: share() }, request([kvSource('www-cert', wwwRenewed, 'v2')]));
    expect(renewed.written.map((w) => w.file).sort()).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    expect(renewed.removed).toEqual(['contoso.com.pfx']);
    expect(await pfxFiles()).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    const leaf = readPfxCertificates(await readFile(join(folder, 'www.contoso.com.pfx')), PASSWORD.value)
      .certificates[0];
    expect(leaf).toEqual(wwwRenewed.certificate.raw);
    expect((await manifest()).files['www.contoso.com.pfx']?.version).toBe('v2');
  });

  it('removes a removed source’s files only while unchanged since written', async () => {
    await publish({ share: share() }, request([kvSource('www-cert', www), kvSource('api-cert', api)]));
    await writeFile(join(folder, 'contoso.com.pfx'), 'changed by someone');
    const result = await publish({ share: share() }, request([kvSource('api-cert', api)]));
    expect(result.removed.sort()).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    expect(result.keptChanged).toEqual(['contoso.com.pfx']);
    expect(await pfxFiles()).toEqual(['api.contoso.com.pfx', 'contoso.com.pfx']);
    expect(Object.keys((await manifest()).files)).toEqual(['api.contoso.com.pfx']);
  });

  it('keeps the files of a source whose new version is refused', async () => {
    await publish({ share: share() }, request([kvSource('api-cert', api)]));
    const result = await publish({ share: share() }, request([kvSource('api-cert', expired, 'v2')]));
    expect(result.errors.map((e) => e.code)).toEqual(['expired']);
    expect(await pfxFiles()).toEqual(['api.contoso.com.pfx']);
  });

  it('detects two sources claiming the same host name and writes neither', async () => {
    const result = await publish(
      { share: share() },
      request([kvSource('one', www), kvSource('two', wwwRenewed), kvSource('api-cert', api)]),
    );
    expect(result.conflicts).toEqual([
      { file: '_.contoso.com.pfx', sources: ['one', 'two'] },
      { file: 'www.contoso.com.pfx', sources: ['one', 'two'] },
    ]);
    expect(result.errors.map((e) => [e.source, e.code])).toEqual([
      ['one', 'name_conflict'],
      ['two', 'name_conflict'],
    ]);
    expect(await pfxFiles()).toEqual(['api.contoso.com.pfx']);
  });

  it('publishes a certificate with 100 names as 100 files', async () => {
    const result = await publish(
      { share: share() },
      request([kvSource('fabrikam', hundred)], 'tripledes-sha1'),
    );
    expect(result.errors).toEqual([]);
    expect(await pfxFiles()).toHaveLength(100);
    const bytes = await readFile(join(folder, 'host99.fabrikam.com.pfx'));
    expect(readPfxCertificates(bytes, PASSWORD.value).certificates[0]).toEqual(hundred.certificate.raw);
  });
});

describe('reencryptAll', () => {
  const NEW = { value: 'New-Pa55', version: 'pw-v2' };

  it('re-encrypts every file with the new password and records it; a second run does nothing', async () => {
    await publish(
      { share: share() },
      request([kvSource('www-cert', www), kvSource('api-cert', api)], 'tripledes-sha1'),
    );
    const result = await reencryptAll(
      { share: share() },
      { from: PASSWORD, to: NEW, profile: 'aes256-sha256' },
    );
    expect(result.reencrypted.sort()).toEqual([
      '_.contoso.com.pfx',
      'api.contoso.com.pfx',
      'contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
    for (const file of await pfxFiles()) {
      const bytes = await readFile(join(folder, file));
      expect(verifyPfxPassword(bytes, NEW.value)).toBe('ok');
      expect(readPfxCertificates(bytes, NEW.value).encryption.certBag).toBe('pbes2-aes-256-cbc');
    }
    expect((await manifest()).files['api.contoso.com.pfx']).toMatchObject({
      passwordVersion: 'pw-v2',
      profile: 'aes256-sha256',
    });
    const again = await reencryptAll(
      { share: share() },
      { from: PASSWORD, to: NEW, profile: 'aes256-sha256' },
    );
    expect(again.reencrypted).toEqual([]);
    expect(again.alreadyCurrent).toHaveLength(4);
  });

  it('refuses when the share holds files the publisher did not write, listing them, unless forced', async () => {
    await publish({ share: share() }, request([kvSource('api-cert', api)]));
    await writeFile(join(folder, 'manual.contoso.com.pfx'), await opensslPfx(ec, PASSWORD.value));
    const refused = await reencryptAll(
      { share: share() },
      { from: PASSWORD, to: NEW, profile: 'aes256-sha256' },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PublishError);
    expect(refused).toMatchObject({ code: 'foreign_files', files: ['manual.contoso.com.pfx'] });
    expect(verifyPfxPassword(await readFile(join(folder, 'api.contoso.com.pfx')), PASSWORD.value)).toBe('ok');

    const forced = await reencryptAll(
      { share: share() },
      { from: PASSWORD, to: NEW, profile: 'aes256-sha256', force: true },
    );
    expect(forced).toMatchObject({
      reencrypted: ['api.contoso.com.pfx'],
      foreign: ['manual.contoso.com.pfx'],
    });
    expect(verifyPfxPassword(await readFile(join(folder, 'manual.contoso.com.pfx')), PASSWORD.value)).toBe(
      'ok',
    );
  });
});

describe('faults', () => {
  const failing =
    (operation: string, code: string, fromCall = 0): FaultRule =>
    (op, _name, call) =>
      op === operation && call >= fromCall ? code : undefined;

  it('a read-only share: a clear error, no half file, no temporary file, nothing lost', async () => {
    await publish({ share: share() }, request([kvSource('api-cert', api)]));
    const before = await readFile(join(folder, 'api.contoso.com.pfx'));
    const error = await publish(
      { share: new FaultyShare(share(), failing('create', 'EROFS')) },
      request([kvSource('api-cert', api, 'v2'), kvSource('www-cert', www)]),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'share_read_only' });
    expect((error as Error).message).toMatch(/read-only/);
    expect(await files()).toEqual([MANIFEST_FILE, 'api.contoso.com.pfx']);
    expect(await readFile(join(folder, 'api.contoso.com.pfx'))).toEqual(before);
    expect((await manifest()).files['api.contoso.com.pfx']?.version).toBe('v1');
  });

  it('a share that fills up mid-publish: no file replaced, this run’s temporary files removed', async () => {
    await publish({ share: share() }, request([kvSource('www-cert', www)]));
    const before = await readFile(join(folder, 'www.contoso.com.pfx'));
    let creates = 0;
    const full: FaultRule = (op) => (op === 'create' && ++creates >= 3 ? 'ENOSPC' : undefined);
    const error = await publish(
      { share: new FaultyShare(share(), full) },
      request([kvSource('www-cert', wwwRenewed, 'v2'), kvSource('api-cert', api)]),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'share_full' });
    expect(await files()).toEqual([
      MANIFEST_FILE,
      '_.contoso.com.pfx',
      'contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
    expect(await readFile(join(folder, 'www.contoso.com.pfx'))).toEqual(before);
  });

  it('a share that turns read-only between renames: whole files only, and the next run completes', async () => {
    await publish({ share: share() }, request([kvSource('www-cert', www)]));
    let renames = 0;
    const midway: FaultRule = (op) => (op === 'replace' && ++renames === 3 ? 'EROFS' : undefined);
    const faulty = new FaultyShare(share(), midway);
    const error = await publish({ share: faulty }, request([kvSource('www-cert', wwwRenewed, 'v2')])).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'share_read_only' });
    expect(faulty.log.filter((l) => l.startsWith('replace '))).toEqual([
      `replace ${MANIFEST_FILE}`,
      'replace www.contoso.com.pfx',
    ]);
    const recorded = (await manifest()).files;
    expect([
      recorded['www.contoso.com.pfx']?.pending?.version,
      recorded['_.contoso.com.pfx']?.pending?.version,
    ]).toEqual(['v2', 'v2']);
    for (const file of await pfxFiles()) {
      const leaf = readPfxCertificates(await readFile(join(folder, file)), PASSWORD.value).certificates[0];
      expect([www.certificate.raw, wwwRenewed.certificate.raw]).toContainEqual(leaf);
    }
    const next = await publish({ share: share() }, request([kvSource('www-cert', wwwRenewed, 'v2')]));
    expect(next.errors).toEqual([]);
    expect(await pfxFiles()).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    expect((await files()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(
      Object.values((await manifest()).files).every((e) => e.version === 'v2' && e.pending === undefined),
    ).toBe(true);
  });

  it('a publisher that dies mid-write: the next run finishes; its orphans go once older than the interval', async () => {
    await publish({ share: share() }, request([kvSource('www-cert', www)]));
    // list, read manifest, 3 reads to check ownership, 2 temp creates, manifest re-read,
    // manifest temp, manifest rename, first rename … dies before the second rename.
    const dying = new FaultyShare(share(), undefined, 12);
    await expect(
      publish({ share: dying }, request([kvSource('www-cert', wwwRenewed, 'v2')])),
    ).rejects.toThrow('publisher died');
    expect(dying.log.filter((l) => l.startsWith('replace '))).toEqual([
      `replace ${MANIFEST_FILE}`,
      'replace www.contoso.com.pfx',
    ]);
    const orphans = (await files()).filter((f) => f.endsWith('.tmp'));
    expect(orphans.length).toBeGreaterThan(0);
    for (const file of await pfxFiles())
      expect(verifyPfxPassword(await readFile(join(folder, file)), PASSWORD.value)).toBe('ok');

    const soon = () => new Date(Date.now() + 60_000);
    const next = await publish(
      { share: share(), now: soon },
      request([kvSource('www-cert', wwwRenewed, 'v2')]),
    );
    expect(next.errors).toEqual([]);
    expect(next.tempFilesRemoved).toEqual([]);
    // Too young to go: the run says when they may (the API asks for a run then).
    expect(next.orphansDueAt!.getTime()).toBeGreaterThan(soon().getTime());
    expect(next.orphansDueAt!.getTime()).toBeLessThanOrEqual(Date.now() + 10 * 60_000 + 1000);
    expect(await pfxFiles()).toEqual(['_.contoso.com.pfx', 'www.contoso.com.pfx']);
    const leaf = readPfxCertificates(await readFile(join(folder, '_.contoso.com.pfx')), PASSWORD.value)
      .certificates[0];
    expect(leaf).toEqual(wwwRenewed.certificate.raw);

    const later = () => new Date(Date.now() + 11 * 60_000);
    const tidy = await publish(
      { share: share(), now: later },
      request([kvSource('www-cert', wwwRenewed, 'v2')]),
    );
    expect(tidy.tempFilesRemoved.sort()).toEqual(orphans.sort());
    expect(tidy.orphansDueAt).toBeNull();
    expect((await files()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
