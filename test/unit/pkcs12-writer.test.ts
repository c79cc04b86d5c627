/**
 * The PKCS#12 writer (shared/pkcs12/writer.ts), its two profiles and the profile choice
 * (shared/pkcs12/profiles.ts), and reading a certificate with its key out of PFX and PEM sources
 * (shared/pkcs12/bundle.ts). Every written file is read by `openssl pkcs12` and by our reader, and
 * the algorithm identifiers are read out of the file's DER.
 */
import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateBundleError, readCertificateBundle } from '../../shared/pkcs12/bundle.js';
import { Tag, readNode, type DerNode } from '../../shared/pkcs12/der.js';
import { readPfxPrivateKeys } from '../../shared/pkcs12/pfx.js';
import { choosePfxProfile, PFX_PROFILES, type PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { PfxWriteError, writePfx } from '../../shared/pkcs12/writer.js';
import {
  makeCertificate,
  opensslPfx,
  opensslPkcs12Extract,
  opensslPkcs12Info,
  type TestCertificate,
} from '../support/certificates.js';

/** Every OBJECT IDENTIFIER in the clear layers of a DER file (descending into DER-in-OCTET-STRING). */
function oidsIn(der: Buffer): Set<string> {
  const found = new Set<string>();
  const walk = (buf: Buffer, depth: number) => {
    let offset = 0;
    while (offset < buf.length) {
      let node: DerNode;
      try {
        node = readNode(buf, offset, depth);
      } catch {
        return;
      }
      offset += node.raw.length;
      if (node.cls === 0 && node.tag === Tag.Oid) found.add(oidText(node.value));
      else if (node.constructed) walk(node.value, depth + 1);
      else if (node.tag === Tag.OctetString && depth < 20) walk(node.value, depth + 1);
    }
  };
  walk(der, 0);
  return found;
}

function oidText(value: Buffer): string {
  const first = value[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let n = 0;
  for (const byte of value.subarray(1)) {
    n = n * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

const OIDS = {
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  hmacWithSha256: '1.2.840.113549.2.9',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
};

let rsa: TestCertificate;
let ec: TestCertificate;
let issuer: TestCertificate;

beforeAll(async () => {
  [rsa, ec, issuer] = await Promise.all([
    makeCertificate(['rsa.writer.test', '*.rsa.writer.test']),
    makeCertificate(['ec.writer.test'], { keyType: 'EC', curve: 'P-384' }),
    makeCertificate(['issuer.writer.test']),
  ]);
});

describe('writePfx', () => {
  const cases: [string, () => TestCertificate, PfxProfileId][] = [
    ['RSA', () => rsa, 'tripledes-sha1'],
    ['RSA', () => rsa, 'aes256-sha256'],
    ['EC P-384', () => ec, 'tripledes-sha1'],
    ['EC P-384', () => ec, 'aes256-sha256'],
  ];
  for (const [label, cert, profile] of cases) {
    it(`writes a ${label} key in ${profile} that our reader and openssl both open`, async () => {
      const { privateKey, certificate } = cert();
      const password = 'Pässwörd-🔑';
      const pfx = writePfx(
        { privateKey, certificates: [certificate.raw, issuer.certificate.raw] },
        password,
        profile,
      );

      const read = readPfxPrivateKeys(pfx, password);
      const expected = PFX_PROFILES[profile];
      expect(read.contents.encryption).toMatchObject({
        certBag: expected.certBag,
        keyBag: expected.keyBag,
        mac: expected.mac,
        iterations: expected.iterations,
      });
      expect(read.contents.certificates).toEqual([certificate.raw, issuer.certificate.raw]);
      expect(read.keys[0]?.pkcs8).toEqual(privateKey.export({ format: 'der', type: 'pkcs8' }));

      const info = await opensslPkcs12Info(pfx, password);
      const extracted = await opensslPkcs12Extract(pfx, password);
      const keyPem =
        /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(extracted)?.[0] ?? '';
      expect(createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' })).toEqual(
        privateKey.export({ format: 'der', type: 'pkcs8' }),
      );
      expect(extracted).toContain(certificate.toString().trim().split('\n')[1]);
      if (profile === 'tripledes-sha1') {
        expect(info).toContain('MAC: sha1, Iteration 2000');
        expect(info).toContain('PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2000');
        expect(info).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2000');
      } else {
        expect(info).toContain('MAC: sha256, Iteration 2048');
        expect(info).toContain(
          'PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256',
        );
        expect(info).toContain(
          'Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256',
        );
      }
    });
  }

  it('puts exactly the profile’s algorithm identifiers in the file', () => {
    const legacy = oidsIn(
      writePfx({ privateKey: rsa.privateKey, certificates: [rsa.certificate.raw] }, 'pw', 'tripledes-sha1'),
    );
    expect(legacy).toContain(OIDS.pbeSha1TripleDes);
    expect(legacy).toContain(OIDS.sha1);
    for (const absent of [OIDS.pbes2, OIDS.aes256Cbc, OIDS.sha256]) expect(legacy).not.toContain(absent);

    const modern = oidsIn(
      writePfx({ privateKey: rsa.privateKey, certificates: [rsa.certificate.raw] }, 'pw', 'aes256-sha256'),
    );
    for (const present of [OIDS.pbes2, OIDS.pbkdf2, OIDS.aes256Cbc, OIDS.hmacWithSha256, OIDS.sha256]) {
      expect(modern).toContain(present);
    }
    for (const absent of [OIDS.pbeSha1TripleDes, OIDS.sha1]) expect(modern).not.toContain(absent);
  });

  it('writes the empty password the OpenSSL way, which openssl reads', async () => {
    const pfx = writePfx(
      { privateKey: ec.privateKey, certificates: [ec.certificate.raw] },
      '',
      'tripledes-sha1',
    );
    expect(readPfxPrivateKeys(pfx, '').keys).toHaveLength(1);
    await expect(opensslPkcs12Info(pfx, '')).resolves.toContain('MAC: sha1');
  });

  it('writes a certificate without a key when told to, and the reader sees no key', () => {
    const pfx = writePfx({ privateKey: null, certificates: [rsa.certificate.raw] }, '', 'tripledes-sha1');
    const read = readPfxPrivateKeys(pfx, '');
    expect(read.keys).toEqual([]);
    expect(read.contents.encryption.keyBag).toBeNull();
  });

  it('refuses a key that is not the first certificate’s, or no certificate', () => {
    expect(() =>
      writePfx({ privateKey: ec.privateKey, certificates: [rsa.certificate.raw] }, 'x', 'aes256-sha256'),
    ).toThrow(PfxWriteError);
    expect(() => writePfx({ privateKey: ec.privateKey, certificates: [] }, 'x', 'aes256-sha256')).toThrow(
      /at least one/,
    );
  });

  it('never puts the password into an error', () => {
    const secret = 'Very-Secret-Pw';
    try {
      writePfx({ privateKey: ec.privateKey, certificates: [rsa.certificate.raw] }, secret, 'tripledes-sha1');
    } catch (error) {
      expect(String(error)).not.toContain(secret);
      return;
    }
    expect.unreachable();
  });
});

describe('choosePfxProfile', () => {
  it('takes AES-256 only when every host runs Windows Server 2019 (17763) or later', () => {
    expect(
      choosePfxProfile([
        { host: 'a', osVersion: '10.0.17763' },
        { host: 'b', osVersion: '10.0.20348.2340' },
      ]),
    ).toEqual({ profile: 'aes256-sha256', heldBackBy: [] });
  });

  it('falls back to TripleDES-SHA1 for a Server 2016 host, an older Windows or an unknown version', () => {
    const choice = choosePfxProfile([
      { host: 'web-3', osVersion: '10.0.14393' },
      { host: 'web-1', osVersion: '10.0.26100' },
      { host: 'web-2' },
      { host: 'web-4', osVersion: '6.3.9600' },
      { host: 'web-5', osVersion: '10.0.17134' },
    ]);
    expect(choice.profile).toBe('tripledes-sha1');
    expect(choice.heldBackBy).toEqual([
      { host: 'web-2', osVersion: null, reason: 'version-unknown' },
      { host: 'web-3', osVersion: '10.0.14393', reason: 'windows-before-2019' },
      { host: 'web-4', osVersion: '6.3.9600', reason: 'windows-before-2019' },
      { host: 'web-5', osVersion: '10.0.17134', reason: 'windows-before-2019' },
    ]);
  });

  it('gives an empty fleet the strongest profile', () => {
    expect(choosePfxProfile([]).profile).toBe('aes256-sha256');
  });
});

describe('readCertificateBundle', () => {
  it('reads key and certificate from PFX files openssl wrote: AES, legacy (RC2 bag) and no password', async () => {
    for (const [password, legacy] of [
      ['pfx-pw', false],
      ['pfx-pw', true],
      ['', false],
    ] as const) {
      const bundle = readCertificateBundle(await opensslPfx(rsa, password, legacy), 'pfx', password);
      expect(bundle.certificates[0]?.raw).toEqual(rsa.certificate.raw);
      expect(bundle.privateKey?.export({ format: 'der', type: 'pkcs8' })).toEqual(
        rsa.privateKey.export({ format: 'der', type: 'pkcs8' }),
      );
    }
  });

  it('reads a PEM with an encrypted PKCS#8 key, the leaf first whatever the order', () => {
    const key = ec.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'pem-pw',
    });
    const pem = issuer.certificate.toString() + key.toString() + ec.certificate.toString();
    const bundle = readCertificateBundle(Buffer.from(pem), 'pem', 'pem-pw');
    expect(bundle.certificates.map((c: X509Certificate) => c.raw)).toEqual([
      ec.certificate.raw,
      issuer.certificate.raw,
    ]);
    expect(bundle.privateKey?.asymmetricKeyType).toBe('ec');
  });

  it('names what is wrong: password, missing certificate, a key of another certificate', async () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(CertificateBundleError);
        return (error as CertificateBundleError).code;
      }
      return 'none';
    };
    const pfx = await opensslPfx(rsa, 'right');
    expect(code(() => readCertificateBundle(pfx, 'pfx', 'wrong'))).toBe('wrong-password');
    const encrypted = ec.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'right',
    });
    expect(
      code(() =>
        readCertificateBundle(Buffer.from(encrypted.toString() + ec.certificate.toString()), 'pem', 'wrong'),
      ),
    ).toBe('wrong-password');
    const keyOnly = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(code(() => readCertificateBundle(Buffer.from(keyOnly), 'pem'))).toBe('no-certificate');
    expect(code(() => readCertificateBundle(Buffer.from(keyOnly + ec.certificate.toString()), 'pem'))).toBe(
      'key-mismatch',
    );
    expect(code(() => readCertificateBundle(Buffer.from('not a pfx'), 'pfx', ''))).toBe('malformed');
  });
});
