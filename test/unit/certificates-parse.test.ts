/**
 * The inventory's view of every PFX fixture (test/fixtures/pfx, made by
 * scripts/make-pfx-fixtures.sh with the openssl CLI) against what `openssl pkcs12` and
 * `openssl x509` printed for it (expected.json): subject, issuer, thumbprint, SANs, validity,
 * serial — in the IIS Administration forms (`, ` between RDNs, `DNS Name=…`, ISO dates).
 */
import { describe, expect, it } from 'vitest';
import { describeCertificateFile } from '../../shared/certificates/describe.js';
import { InventoryFileSchema } from '../../shared/certificates/metadata.js';
import { readX509 } from '../../shared/certificates/x509.js';
import { readPfxCertificates } from '../../shared/pkcs12/pfx.js';
import {
  FIXTURE_PASSWORD,
  expectedFixtures,
  loadFixture,
  type ExpectedFile,
} from '../support/pfx-fixtures.js';

const expected = expectedFixtures;
const bytesOf = loadFixture;
const stat = (file: ExpectedFile) => ({
  name: file.file.split('/').pop()!,
  size: file.size,
  mtimeMs: Date.UTC(2025, 0, 2),
});

/** openssl's RFC 2253 name → IIS/.NET form (the fixtures' values hold no comma). */
const windowsName = (rfc2253: string): string => rfc2253.split(',').join(', ');
/** `DNS:a, IP Address:1.2.3.4` → [`DNS Name=a`, `IP Address=1.2.3.4`]. */
const windowsSans = (openssl: string): string[] =>
  openssl === ''
    ? []
    : openssl.split(', ').map((part) => {
        const colon = part.indexOf(':');
        const label = part.slice(0, colon);
        return `${label === 'DNS' ? 'DNS Name' : label}=${part.slice(colon + 1)}`;
      });
const isoDate = (openssl: string): string => openssl.replace(' ', 'T');
const thumbprint = (sha1: string): string => sha1.replace(/:/g, '');

describe('describeCertificateFile on every fixture', () => {
  it.each(expected.files.map((f) => [f.file, f] as const))('%s', (_name, file) => {
    const entry = describeCertificateFile(stat(file), bytesOf(file.file), file.password);
    expect(InventoryFileSchema.safeParse(entry).success).toBe(true);
    expect(entry.error).toBeNull();
    expect(entry.name).toBe(stat(file).name);
    expect(entry.size).toBe(file.size);
    expect(entry.modified).toBe('2025-01-02T00:00:00.000Z');
    const leaf =
      file.certificates.find((c) => c.sha1 === file.keyBagLeafSha1) ??
      file.certificates.find((c) => c.subjectAltName !== '')!;
    expect(entry.certificate).toMatchObject({
      thumbprint: thumbprint(leaf.sha1),
      subject: windowsName(leaf.subject),
      issuer: windowsName(leaf.issuer),
      serialNumber: leaf.serial,
      validFrom: isoDate(leaf.notBefore),
      validTo: isoDate(leaf.notAfter),
      subjectAlternativeNames: windowsSans(leaf.subjectAltName),
      version: 3,
      signatureAlgorithm: 'sha256RSA',
    });
    expect(entry.pfx).toMatchObject({
      certificates: file.certificates.length,
      hasPrivateKey: file.keyBagLeafSha1 !== null,
    });
  });

  it('reads every certificate of every fixture as openssl x509 does', () => {
    let checked = 0;
    for (const file of expected.files) {
      const contents = readPfxCertificates(bytesOf(file.file), file.password);
      const read = contents.certificates.map((der) => readX509(der));
      expect(read.map((c) => c.thumbprint).sort()).toEqual(
        file.certificates.map((c) => thumbprint(c.sha1)).sort(),
      );
      for (const want of file.certificates) {
        const got = read.find((c) => c.thumbprint === thumbprint(want.sha1))!;
        expect(got.subject).toBe(windowsName(want.subject));
        expect(got.issuer).toBe(windowsName(want.issuer));
        expect(got.serialNumber).toBe(want.serial);
        expect(got.validFrom).toBe(isoDate(want.notBefore));
        expect(got.validTo).toBe(isoDate(want.notAfter));
        expect(got.subjectAlternativeNames).toEqual(windowsSans(want.subjectAltName));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('tells RSA from EC keys, names the purposes and flags the CA', () => {
    const www = readPfxCertificates(bytesOf('aes256/www.contoso.com.pfx'), FIXTURE_PASSWORD).certificates.map(
      (der) => readX509(der),
    );
    const leaf = www.find((c) => !c.isCa)!;
    expect(leaf.publicKey).toEqual({ algorithm: 'RSA', size: 2048, curve: null });
    expect(leaf.intendedPurposes).toEqual(['Server Authentication']);
    expect(www.find((c) => c.isCa)?.subject).toBe('CN=Contoso Fixture Test CA, O=Contoso Fixtures, C=US');
    const wildcard = describeCertificateFile(
      { name: '_.contoso.com.pfx', size: 1, mtimeMs: 0 },
      bytesOf('aes256/_.contoso.com.pfx'),
      FIXTURE_PASSWORD,
    );
    expect(wildcard.certificate?.publicKey).toEqual({ algorithm: 'EC', size: 256, curve: 'P-256' });
    expect(wildcard.certificate?.commonName).toBe('*.contoso.com');
  });

  it('names how each encoding is protected, without decrypting the key bag', () => {
    const pfx = (dir: string) =>
      describeCertificateFile(
        { name: 'x.pfx', size: 1, mtimeMs: 0 },
        bytesOf(`${dir}/www.contoso.com.pfx`),
        FIXTURE_PASSWORD,
      ).pfx;
    expect(pfx('aes256')).toMatchObject({
      certificateEncryption: 'pbes2-aes-256-cbc',
      keyEncryption: 'pbes2-aes-256-cbc',
      mac: 'sha256',
    });
    expect(pfx('legacy')).toMatchObject({
      certificateEncryption: 'pbe-sha1-rc2-40',
      keyEncryption: 'pbe-sha1-3des',
      mac: 'sha1',
    });
    expect(pfx('3des')).toMatchObject({
      certificateEncryption: 'pbe-sha1-3des',
      keyEncryption: 'pbe-sha1-3des',
    });
    expect(pfx('certs-only')).toMatchObject({ hasPrivateKey: false, keyEncryption: null });
  });
});

describe('files the inventory cannot read are entries with an error, never exceptions', () => {
  it('a wrong password', () => {
    for (const dir of ['aes256', 'legacy', '3des', 'nomac', 'nomac-rc2-40']) {
      const entry = describeCertificateFile(
        { name: 'www.contoso.com.pfx', size: 10, mtimeMs: 0 },
        bytesOf(`${dir}/www.contoso.com.pfx`),
        'not-the-password',
      );
      expect(entry.error?.code, dir).toBe('wrong_password');
      expect(entry.certificate).toBeNull();
      expect(JSON.stringify(entry)).not.toContain('not-the-password');
    }
  });

  it('garbage, an empty file and a truncated PFX', () => {
    const whole = bytesOf('aes256/www.contoso.com.pfx');
    for (const bytes of [
      Buffer.from('not a pfx at all'),
      Buffer.alloc(0),
      whole.subarray(0, whole.length / 2),
    ]) {
      const entry = describeCertificateFile(
        { name: 'x.pfx', size: bytes.length, mtimeMs: 0 },
        bytes,
        FIXTURE_PASSWORD,
      );
      expect(entry.error?.code).toBe('unreadable');
      expect(InventoryFileSchema.safeParse(entry).success).toBe(true);
    }
  });

  it('a PFX without MAC or certificate encryption is read whatever the password', () => {
    const entry = describeCertificateFile(
      { name: 'www.contoso.com.pfx', size: 10, mtimeMs: 0 },
      bytesOf('unprotected/www.contoso.com.pfx'),
      'anything',
    );
    expect(entry.error).toBeNull();
    expect(entry.pfx?.certificateEncryption).toBe('none');
  });
});
