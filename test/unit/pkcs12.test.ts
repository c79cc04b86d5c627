import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  type DerNode,
  Pkcs12Error,
  children,
  parseSingle,
  readInteger,
  readNode,
  readOctetString,
  readOid,
  sequence,
} from '../../shared/pkcs12/der.js';
import { bmpPassword, pkcs12Kdf } from '../../shared/pkcs12/kdf.js';
import {
  type PfxEncryptionInfo,
  describePfx,
  leafCertificate,
  leafCertificateDer,
  readPfxCertificates,
  verifyPfxPassword,
} from '../../shared/pkcs12/pfx.js';
import { Rc2, rc2CbcDecrypt } from '../../shared/pkcs12/rc2.js';
import { FIXTURE_PASSWORD, expectedFixtures, loadFixture } from '../support/pfx-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Fixtures (scripts/make-pfx-fixtures.sh) and what openssl read out of them (expected.json)

const PASSWORD = FIXTURE_PASSWORD;
const expected = expectedFixtures;
const load = loadFixture;

type Protection = Pick<PfxEncryptionInfo, 'certBag' | 'keyBag' | 'mac'> & { iterations: number };
const PROTECTION: Record<string, Protection> = {
  aes256: { certBag: 'pbes2-aes-256-cbc', keyBag: 'pbes2-aes-256-cbc', mac: 'sha256', iterations: 2048 },
  legacy: { certBag: 'pbe-sha1-rc2-40', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  '3des': { certBag: 'pbe-sha1-3des', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  aes128: { certBag: 'pbes2-aes-128-cbc', keyBag: 'pbes2-aes-128-cbc', mac: 'sha256', iterations: 2048 },
  'pbes2-3des': { certBag: 'pbes2-3des-cbc', keyBag: 'pbes2-3des-cbc', mac: 'sha1', iterations: 2048 },
  'pbes2-rc2-40': { certBag: 'pbes2-rc2-cbc', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  'rc2-128': { certBag: 'pbe-sha1-rc2-128', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  'rc4-128': { certBag: 'pbe-sha1-rc4-128', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  '2des': { certBag: 'pbe-sha1-2des', keyBag: 'pbe-sha1-3des', mac: 'sha1', iterations: 2048 },
  'sha512-mac': {
    certBag: 'pbes2-aes-256-cbc',
    keyBag: 'pbes2-aes-256-cbc',
    mac: 'sha512',
    iterations: 2048,
  },
  iter100k: { certBag: 'pbes2-aes-256-cbc', keyBag: 'pbes2-aes-256-cbc', mac: 'sha256', iterations: 100000 },
  nomac: { certBag: 'pbes2-aes-256-cbc', keyBag: 'pbes2-aes-256-cbc', mac: 'none', iterations: 2048 },
  'nomac-rc2-40': { certBag: 'pbe-sha1-rc2-40', keyBag: 'pbe-sha1-3des', mac: 'none', iterations: 2048 },
  'nomac-clear-certs': { certBag: 'none', keyBag: 'pbes2-aes-256-cbc', mac: 'none', iterations: 2048 },
  'empty-password': {
    certBag: 'pbes2-aes-256-cbc',
    keyBag: 'pbes2-aes-256-cbc',
    mac: 'sha256',
    iterations: 2048,
  },
  unprotected: { certBag: 'none', keyBag: 'none', mac: 'none', iterations: 0 },
  'certs-only': { certBag: 'pbes2-aes-256-cbc', keyBag: null, mac: 'sha256', iterations: 2048 },
};
/** Files whose password nothing here can check (no MAC, no encrypted certificate bag). */
const UNCHECKABLE = new Set(['unprotected', 'nomac-clear-certs']);

/** Node prints a DN one RDN a line, most significant first; openssl's RFC 2253 form is reversed. */
const rfc2253 = (nodeDn: string): string => nodeDn.split('\n').reverse().join(',');
const isoDate = (openssl: string): number => Date.parse(openssl.replace(' ', 'T'));

function expectPkcs12Error(fn: () => unknown, code?: Pkcs12Error['code']): Pkcs12Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Pkcs12Error);
    if (code !== undefined) expect((e as Pkcs12Error).code).toBe(code);
    return e as Pkcs12Error;
  }
  throw new Error('expected a Pkcs12Error');
}

// ---------------------------------------------------------------------------------------------
// A tiny DER/BER writer, to build variants of the fixtures

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
/** Constructed, indefinite length (BER). */
const indefinite = (tag: number, ...parts: Buffer[]): Buffer =>
  Buffer.concat([Buffer.from([tag | 0x20, 0x80]), ...parts, Buffer.from([0, 0])]);
/** A constructed BER OCTET STRING (or [n] IMPLICIT one) cut in `size`-byte segments. */
function chunked(tag: number, data: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(tlv(0x04, data.subarray(i, i + size)));
  return indefinite(tag, ...parts);
}
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const enc = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    bytes.push(...enc);
  }
  return tlv(0x06, Buffer.from(bytes));
}
const int = (n: number): Buffer => tlv(0x02, n < 0x80 ? Buffer.from([n]) : Buffer.from([n >> 8, n & 0xff]));
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const octets = (data: Buffer): Buffer => tlv(0x04, data);
const ctx0 = (...parts: Buffer[]): Buffer => tlv(0xa0, ...parts);

const OID_DATA = '1.2.840.113549.1.7.1';

/** The parts of a PFX: the AuthenticatedSafe bytes, its ContentInfos and the MacData encoding. */
function splitPfx(pfx: Buffer): { authSafe: Buffer; contents: DerNode[]; mac: Buffer | undefined } {
  const top = sequence(readNode(pfx), 'PFX');
  const authSafeInfo = sequence(top[1], 'ContentInfo');
  const authSafe = readOctetString(children(authSafeInfo[1]!)[0], 'authSafe');
  return { authSafe, contents: sequence(parseSingle(authSafe, 'AuthenticatedSafe'), 'AS'), mac: top[2]?.raw };
}

// ---------------------------------------------------------------------------------------------

describe('DER reader', () => {
  it('decodes OIDs, INTEGERs and long-form lengths', () => {
    expect(readOid(readNode(Buffer.from('06092a864886f70d010701', 'hex')))).toBe(OID_DATA);
    expect(readOid(readNode(Buffer.from('06028837', 'hex')))).toBe('2.999');
    expect(readInteger(readNode(Buffer.from('02020800', 'hex')))).toBe(2048);
    expect(readInteger(readNode(Buffer.from('0201ff', 'hex')))).toBe(-1);
    const long = Buffer.concat([Buffer.from('048200c8', 'hex'), Buffer.alloc(200, 7)]);
    expect(readOctetString(readNode(long))).toEqual(Buffer.alloc(200, 7));
  });

  it('reads indefinite lengths and constructed OCTET STRINGs', () => {
    const ber = Buffer.from('308024800402abcd0401ef0000020105' + '0000', 'hex');
    const node = readNode(ber);
    expect(node.indefinite).toBe(true);
    expect(node.raw.length).toBe(ber.length);
    const [os, n] = children(node);
    expect(readOctetString(os)).toEqual(Buffer.from('abcdef', 'hex'));
    expect(readInteger(n)).toBe(5);
  });

  it.each([
    ['empty input', ''],
    ['truncated header', '30'],
    ['length beyond the data', '3005020101'],
    ['indefinite primitive', '0480abcd0000'],
    ['unterminated indefinite', '3080020101'],
    ['bad end-of-contents', '308002010100ff'],
    ['length of length too long', '3085ffffffffff'],
    ['OID with a dangling continuation', '06022a86'],
    ['non-minimal OID arc', '0603808001'],
    ['end-of-contents inside definite content', '30020000'],
  ])('rejects %s as malformed', (_name, hex) => {
    const buf = Buffer.from(hex, 'hex');
    expectPkcs12Error(() => {
      const node = readNode(buf);
      if (node.constructed) children(node);
      if (node.tag === 6) readOid(node);
    }, 'malformed');
  });

  it('caps nesting instead of overflowing the stack', () => {
    const deep = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i % 2 ? 0x80 : 0x30)));
    expectPkcs12Error(() => readNode(deep), 'malformed');
  });
});

describe('PKCS#12 key derivation (RFC 7292 B.2)', () => {
  it('encodes passwords as BMPString with a 00 00 terminator', () => {
    expect(bmpPassword('').toString('hex')).toBe('0000');
    expect(bmpPassword('smeg').toString('hex')).toBe('0073006d006500670000');
    expect(bmpPassword('abé€').toString('hex')).toBe('0061006200e920ac0000');
    expect(bmpPassword('\u{1F33F}').toString('hex')).toBe('d83cdf3f0000');
  });

  // Known answers: the classic "smeg"/"queeg" vectors (Bouncy Castle, Crypto++, OpenSSL FAQ) and,
  // for SHA-256/SHA-512/empty password, `openssl kdf ... PKCS12KDF` of OpenSSL 3.0.
  it.each([
    ['sha1', 'smeg', '0A58CF64530D823F', 1, 1, 24, '8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3'],
    ['sha1', 'smeg', '0A58CF64530D823F', 2, 1, 8, '79993DFE048D3B76'],
    ['sha1', 'smeg', '642B99AB44FB4B1F', 1, 1, 24, 'F3A95FEC48D7711E985CFE67908C5AB79FA3D7C5CAA5D966'],
    ['sha1', 'smeg', '3D83C0E4546AC140', 3, 1, 20, '8D967D88F6CAA9D714800AB3D48051D63F73A312'],
    ['sha1', 'queeg', '05DEC959ACFF72F7', 1, 1000, 24, 'ED2034E36328830FF09DF1E1A07DD357185DAC0D4F9EB3D4'],
    ['sha1', 'queeg', '05DEC959ACFF72F7', 2, 1000, 8, '11DEDAD7758D4860'],
    [
      'sha256',
      'smeg',
      '0A58CF64530D823F',
      3,
      1000,
      40,
      '35AC16A454D608FB10C8D7C6338CA85818587AED0FF771FD265957E412C2C03C26AD8FA213A9FCF3',
    ],
    [
      'sha512',
      'Päss',
      '00112233445566778899AABBCCDDEEFF0011',
      2,
      3,
      100,
      '8E8E0215818FC88E5577BB4B5219FCBFFF181CC93CD4585D04DBDFFD2294EF5CC46F7CEB3686CAAD03F4EA7E74A1FDE3545227A4E135C60D1A52E18CDED90477B75FEBE9B9C6E9F5A195CA149F9DEA1BA80876BC796A1D6ECA12F52A65CB34F5371103F6',
    ],
  ] as const)('%s %s salt %s id %d iter %d', (digest, password, salt, id, iterations, length, out) => {
    const key = pkcs12Kdf(digest, bmpPassword(password), Buffer.from(salt, 'hex'), id, iterations, length);
    expect(key.toString('hex').toUpperCase()).toBe(out);
  });

  it('derives with the zero-length (NULL) password convention', () => {
    const key = pkcs12Kdf('sha1', Buffer.alloc(0), Buffer.from('0102030405060708', 'hex'), 3, 2048, 20);
    expect(key.toString('hex').toUpperCase()).toBe('02A96A93D81846D839232C0A09E94B1102A70D9E');
  });
});

describe('RC2 (RFC 2268)', () => {
  // RFC 2268 section 5: key, effective bits, plaintext, ciphertext.
  const vectors = [
    ['0000000000000000', 63, '0000000000000000', 'ebb773f993278eff'],
    ['ffffffffffffffff', 64, 'ffffffffffffffff', '278b27e42e2f0d49'],
    ['3000000000000000', 64, '1000000000000001', '30649edf9be7d2c2'],
    ['88', 64, '0000000000000000', '61a8a244adacccf0'],
    ['88bca90e90875a', 64, '0000000000000000', '6ccf4308974c267f'],
    ['88bca90e90875a7f0f79c384627bafb2', 64, '0000000000000000', '1a807d272bbe5db1'],
    ['88bca90e90875a7f0f79c384627bafb2', 128, '0000000000000000', '2269552ab0f85ca6'],
    [
      '88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e',
      129,
      '0000000000000000',
      '5b78d3a43dfff1f1',
    ],
  ] as const;

  it.each(vectors)('key %s, %d bits', (key, bits, plain, cipher) => {
    const rc2 = new Rc2(Buffer.from(key, 'hex'), bits);
    const enc = Buffer.alloc(8);
    rc2.encryptBlock(Buffer.from(plain, 'hex'), 0, enc, 0);
    expect(enc.toString('hex')).toBe(cipher);
    const dec = Buffer.alloc(8);
    rc2.decryptBlock(Buffer.from(cipher, 'hex'), 0, dec, 0);
    expect(dec.toString('hex')).toBe(plain);
  });

  it.each([40, 128])('CBC-decrypts what CBC-encryption made (%d bits)', (bits) => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef', 'hex').subarray(0, bits / 8);
    const iv = Buffer.from('a1b2c3d4e5f60718', 'hex');
    const plain = Buffer.from('The quick brown fox jumps over the lazy dog!!!!!', 'latin1');
    const rc2 = new Rc2(key, bits);
    const cipher = Buffer.alloc(plain.length);
    let prev: Buffer = iv;
    for (let off = 0; off < plain.length; off += 8) {
      const block = Buffer.from(plain.subarray(off, off + 8).map((b, i) => b ^ prev[i]!));
      rc2.encryptBlock(block, 0, cipher, off);
      prev = cipher.subarray(off, off + 8);
    }
    expect(rc2CbcDecrypt(key, iv, cipher, bits)).toEqual(plain);
  });

  it('rejects unusable keys and lengths', () => {
    expect(() => new Rc2(Buffer.alloc(0), 40)).toThrow(RangeError);
    expect(() => new Rc2(Buffer.alloc(129), 40)).toThrow(RangeError);
    expect(() => new Rc2(Buffer.alloc(5), 0)).toThrow(RangeError);
    expect(() => rc2CbcDecrypt(Buffer.alloc(5), Buffer.alloc(8), Buffer.alloc(7), 40)).toThrow(RangeError);
  });
});

describe('PFX fixtures (expected values read by the openssl CLI)', () => {
  it('covers every encoding with the fixture set', () => {
    const dirs = new Set(expected.files.map((f) => f.file.split('/')[0]));
    expect([...dirs].sort()).toEqual(Object.keys(PROTECTION).sort());
    expect(expected.password).toBe(PASSWORD);
  });

  for (const fx of expected.files) {
    const dir = fx.file.split('/')[0]!;
    const host = fx.file.split('/')[1]!.replace(/\.pfx$/, '');

    describe(fx.file, () => {
      const pfx = load(fx.file);

      it('accepts the right password and lists what openssl lists', () => {
        expect(verifyPfxPassword(pfx, fx.password)).toBe(UNCHECKABLE.has(dir) ? 'unprotected' : 'ok');
        const d = describePfx(pfx, fx.password);
        expect(d.certificates).toHaveLength(fx.certificates.length);
        d.certificates.forEach((cert, i) => {
          const want = fx.certificates[i]!;
          expect(cert.fingerprint).toBe(want.sha1);
          expect(rfc2253(cert.subject)).toBe(want.subject);
          expect(rfc2253(cert.issuer)).toBe(want.issuer);
          expect(cert.subjectAltName ?? '').toBe(want.subjectAltName);
          expect(cert.serialNumber).toBe(want.serial);
          expect(Date.parse(cert.validFrom)).toBe(isoDate(want.notBefore));
          expect(Date.parse(cert.validTo)).toBe(isoDate(want.notAfter));
        });
        const raw = readPfxCertificates(pfx, fx.password);
        expect(raw.certificates.map((c) => c.toString('hex'))).toEqual(
          d.certificates.map((c) => c.raw.toString('hex')),
        );

        const { certBag, keyBag, mac, iterations } = d.encryption;
        expect({ certBag, keyBag, mac, iterations }).toEqual(PROTECTION[dir]);

        const leaf = leafCertificate(d);
        const leafSha1 = fx.keyBagLeafSha1 ?? fx.certificates.find((c) => c.subjectAltName !== '')!.sha1;
        expect(leaf?.fingerprint).toBe(leafSha1);
        // The inventory's shortcut finds the same leaf without parsing every certificate.
        expect(leafCertificateDer(raw)?.equals(leaf!.raw)).toBe(true);
        if (dir !== 'certs-only') {
          expect(d.entries.find((e) => e.certificate === leaf)?.friendlyName).toBe(host);
          expect(d.keys).toHaveLength(1);
          expect(d.keys[0]!.friendlyName).toBe(host);
        } else {
          expect(d.keys).toHaveLength(0);
        }
      });

      it('rejects a wrong password', () => {
        if (UNCHECKABLE.has(dir)) {
          expect(verifyPfxPassword(pfx, 'wrong')).toBe('unprotected');
          expect(readPfxCertificates(pfx, 'wrong').certificates).toHaveLength(fx.certificates.length);
          return;
        }
        const wrongs = ['wrong', PASSWORD.toLowerCase(), fx.password === '' ? PASSWORD : ''];
        for (const wrong of dir === 'iter100k' ? wrongs.slice(0, 1) : wrongs) {
          expect(verifyPfxPassword(pfx, wrong)).toBe('wrong-password');
          expectPkcs12Error(() => readPfxCertificates(pfx, wrong), 'wrong-password');
          expectPkcs12Error(() => describePfx(pfx, wrong), 'wrong-password');
        }
      });
    });
  }
});

describe('PFX reader behaviour', () => {
  it('refuses iteration counts above the limit', () => {
    const pfx = load('iter100k/www.contoso.com.pfx');
    const err = expectPkcs12Error(
      () => verifyPfxPassword(pfx, PASSWORD, { maxIterations: 50_000 }),
      'unsupported',
    );
    expect(err.message).toContain('100000');
  });

  it('accepts the zero-length empty-password MAC convention (Windows) as well as 00 00 (OpenSSL)', () => {
    // Re-MAC the clear fixture with an empty (zero-byte) password, as Windows does for "".
    const { authSafe } = splitPfx(load('unprotected/www.contoso.com.pfx'));
    const salt = Buffer.from('0011223344556677', 'hex');
    const key = pkcs12Kdf('sha1', Buffer.alloc(0), salt, 3, 2048, 20);
    const mac = createHmac('sha1', key).update(authSafe).digest();
    const macData = seq(seq(seq(oid('1.3.14.3.2.26'), tlv(0x05)), octets(mac)), octets(salt), int(2048));
    const pfx = seq(int(3), seq(oid(OID_DATA), ctx0(octets(authSafe))), macData);
    expect(verifyPfxPassword(pfx, '')).toBe('ok');
    expect(verifyPfxPassword(pfx, 'x')).toBe('wrong-password');
    expect(readPfxCertificates(pfx, '').encryption.mac).toBe('sha1');
  });

  it('reads BER encodings: indefinite lengths and constructed OCTET STRINGs (Windows, NSS, Java)', () => {
    // Outer layers re-encoded; the MACed AuthenticatedSafe is untouched, so the MAC still holds.
    const original = load('aes256/www.contoso.com.pfx');
    const { authSafe, mac } = splitPfx(original);
    const ber = indefinite(
      0x10,
      int(3),
      indefinite(0x10, oid(OID_DATA), indefinite(0xa0, chunked(0x04, authSafe, 500))),
      mac!,
    );
    expect(verifyPfxPassword(ber, PASSWORD)).toBe('ok');
    expect(readPfxCertificates(ber, PASSWORD).certificates).toEqual(
      readPfxCertificates(original, PASSWORD).certificates,
    );

    // Without a MAC the AuthenticatedSafe itself can be re-encoded, down to the encrypted content.
    const nomac = load('nomac/www.contoso.com.pfx');
    const parts = splitPfx(nomac).contents.map((info) => {
      const [type, content] = sequence(info, 'ContentInfo');
      if (readOid(type) !== '1.2.840.113549.1.7.6') return info.raw;
      const [version, eci] = sequence(children(content!)[0], 'EncryptedData');
      const [ctype, alg, enc] = sequence(eci, 'EncryptedContentInfo');
      const encrypted = readOctetString(enc, 'content', 0);
      const newEci = indefinite(0x10, ctype!.raw, alg!.raw, chunked(0x80, encrypted, 64));
      return indefinite(0x10, type!.raw, indefinite(0xa0, indefinite(0x10, version!.raw, newEci)));
    });
    const berNomac = indefinite(0x10, int(3), seq(oid(OID_DATA), ctx0(octets(indefinite(0x10, ...parts)))));
    expect(verifyPfxPassword(berNomac, PASSWORD)).toBe('ok');
    expect(verifyPfxPassword(berNomac, 'wrong')).toBe('wrong-password');
    expect(readPfxCertificates(berNomac, PASSWORD).certificates).toEqual(
      readPfxCertificates(nomac, PASSWORD).certificates,
    );
  });

  it('never decrypts the private-key bag', () => {
    // Scramble the encrypted private key of a MAC-less file: the certificates still come out.
    const pfx = Buffer.from(load('nomac/www.contoso.com.pfx'));
    let scrambled = 0;
    for (const info of splitPfx(pfx).contents) {
      const [type, content] = sequence(info, 'ContentInfo');
      if (readOid(type) !== OID_DATA) continue;
      const safeContents = readOctetString(children(content!)[0], 'data');
      for (const bag of sequence(parseSingle(safeContents, 'SafeContents'), 'SafeContents')) {
        const [bagId, value] = sequence(bag, 'SafeBag');
        if (readOid(bagId) !== '1.2.840.113549.1.12.10.1.2') continue;
        const encryptedKey = readOctetString(sequence(children(value!)[0], 'EPKI')[1], 'key');
        encryptedKey.fill(0x5a); // a view into `pfx`: scrambles the file in place
        scrambled++;
      }
    }
    expect(scrambled).toBe(1);
    const d = describePfx(pfx, PASSWORD);
    expect(d.certificates).toHaveLength(2);
    expect(d.encryption.keyBag).toBe('pbes2-aes-256-cbc');
  });

  it('names the OID of an unsupported integrity mode or algorithm', () => {
    const signed = seq(int(3), seq(oid('1.2.840.113549.1.7.2'), ctx0(seq())));
    expect(expectPkcs12Error(() => verifyPfxPassword(signed, 'x'), 'unsupported').message).toContain(
      '1.2.840.113549.1.7.2',
    );

    const pbes1 = seq(oid('1.2.840.113549.1.5.3'), seq(octets(Buffer.alloc(8, 1)), int(2048)));
    const encryptedData = seq(int(0), seq(oid(OID_DATA), pbes1, tlv(0x80, Buffer.alloc(16))));
    const authSafe = seq(seq(oid('1.2.840.113549.1.7.6'), ctx0(encryptedData)));
    const pfx = seq(int(3), seq(oid(OID_DATA), ctx0(octets(authSafe))));
    for (const fn of [() => readPfxCertificates(pfx, 'x'), () => verifyPfxPassword(pfx, 'x')]) {
      expect(expectPkcs12Error(fn, 'unsupported').message).toContain('1.2.840.113549.1.5.3');
    }
  });

  it('picks the first non-CA certificate when no key says otherwise', () => {
    const d = describePfx(load('certs-only/www.contoso.com.pfx'), PASSWORD);
    expect(d.certificates[0]!.ca).toBe(true);
    expect(leafCertificate(d)?.subject).toContain('CN=www.contoso.com');
    expect(leafCertificate({ entries: [], keys: [] })).toBeUndefined();
    expect(leafCertificateDer({ certificateBags: [], keys: [] })).toBeUndefined();
  });

  it('finds the leaf by localKeyId without parsing, and refuses a bad certificate otherwise', () => {
    const raw = readPfxCertificates(load('aes256/www.contoso.com.pfx'), PASSWORD);
    const id = Buffer.from('0102', 'hex');
    const bogus = Buffer.from('not a certificate');
    const keys = [{ ...raw.keys[0]!, localKeyId: id }];
    const bags = [
      { der: raw.certificates[0]!, friendlyName: null, localKeyId: null },
      { der: bogus, friendlyName: null, localKeyId: id },
    ];
    expect(leafCertificateDer({ certificateBags: bags, keys })).toBe(bogus);
    expectPkcs12Error(() => leafCertificateDer({ certificateBags: bags, keys: [] }), 'malformed');
  });
});

describe('PFX reader robustness (seeded mutations)', () => {
  /** mulberry32: a small seeded PRNG, so failures reproduce. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const sources = [
    'aes256/www.contoso.com.pfx',
    'legacy/_.contoso.com.pfx',
    '3des/api.contoso.com.pfx',
    // No MAC: mutations reach the decryption and the bag parser.
    'nomac/www.contoso.com.pfx',
    'nomac-rc2-40/www.contoso.com.pfx',
    'nomac-clear-certs/www.contoso.com.pfx',
    'unprotected/www.contoso.com.pfx',
  ].map((f) => ({ file: f, pfx: load(f), password: f.startsWith('unprotected') ? '' : PASSWORD }));

  it('throws only Pkcs12Error, never hangs, on 300 truncated, random and bit-flipped inputs', () => {
    const rand = prng(0x5eed_1234);
    const pick = (n: number): number => Math.floor(rand() * n);
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 300; round++) {
      const src = sources[pick(sources.length)]!;
      let input: Buffer;
      const kind = pick(6);
      if (kind === 0) {
        input = src.pfx.subarray(0, pick(src.pfx.length)); // truncated
      } else if (kind === 1) {
        input = Buffer.from(Array.from({ length: pick(3000) }, () => pick(256))); // random
      } else if (kind === 2) {
        input = Buffer.concat([
          Buffer.from([0x30, 0x82]),
          Buffer.from(Array.from({ length: 64 }, () => pick(256))),
        ]);
      } else {
        input = Buffer.from(src.pfx); // bit flips / byte overwrites, biased to the headers
        const flips = 1 + pick(kind === 5 ? 8 : 2);
        for (let f = 0; f < flips; f++) {
          const at = rand() < 0.5 ? pick(Math.min(200, input.length)) : pick(input.length);
          if (kind === 4) input[at] = pick(256);
          else input[at] = input[at]! ^ (1 << pick(8));
        }
      }
      for (const [name, fn] of [
        ['verify', () => verifyPfxPassword(input, src.password, { maxIterations: 20_000 })],
        ['read', () => readPfxCertificates(input, src.password, { maxIterations: 20_000 })],
        ['describe', () => describePfx(input, src.password, { maxIterations: 20_000 })],
      ] as const) {
        try {
          fn();
          outcomes[`${name}:ok`] = (outcomes[`${name}:ok`] ?? 0) + 1;
        } catch (e) {
          if (!(e instanceof Pkcs12Error)) {
            throw new Error(`round ${round} (${src.file}, mutation ${kind}) ${name} threw ${String(e)}`);
          }
          outcomes[`${name}:${e.code}`] = (outcomes[`${name}:${e.code}`] ?? 0) + 1;
        }
      }
    }
    expect(outcomes['read:malformed']).toBeGreaterThan(50);
    expect(outcomes['read:wrong-password']).toBeGreaterThan(10);
  });
});

describe("PFX reader macCheck: 'when-needed' (the inventory's setting)", () => {
  const pfx = load('aes256/www.contoso.com.pfx');
  const whenNeeded = { macCheck: 'when-needed' } as const;

  it('reads the same certificates as the default, and still refuses a wrong password', () => {
    expect(readPfxCertificates(pfx, PASSWORD, whenNeeded).certificates).toEqual(
      readPfxCertificates(pfx, PASSWORD).certificates,
    );
    expectPkcs12Error(() => readPfxCertificates(pfx, 'not the password', whenNeeded), 'wrong-password');
    expectPkcs12Error(() => describePfx(pfx, 'not the password', whenNeeded), 'wrong-password');
  });

  it('does not depend on the MAC when the decrypted certificate bag proves the password', () => {
    // The MAC's iteration count is the file's last byte: 2048 → 2049 breaks the MAC only.
    const damaged = Buffer.from(pfx);
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! + 1;
    expectPkcs12Error(() => readPfxCertificates(damaged, PASSWORD), 'wrong-password');
    expect(readPfxCertificates(damaged, PASSWORD, whenNeeded).certificates).toHaveLength(
      readPfxCertificates(pfx, PASSWORD).certificates.length,
    );
  });
});
