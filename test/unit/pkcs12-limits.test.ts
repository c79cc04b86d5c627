/**
 * Bounded time and memory per file, as behaviour: what a hostile file dropped on the share gets
 * from the PKCS#12 and X.509 readers is a refusal naming the problem — never a crash, a stack
 * overflow or an allocation the size of the attacker's choosing.
 */
import { describe, expect, it } from 'vitest';
import { describeCertificateFile } from '../../shared/certificates/describe.js';
import { readX509 } from '../../shared/certificates/x509.js';
import { MAX_DEPTH, Pkcs12Error } from '../../shared/pkcs12/der.js';
import { MAX_PFX_BYTES, readPfxCertificates, verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import { derHeader, oid, tlv } from '../fuzz/targets/der-dictionary.js';
import { wrapSafeContents } from '../fuzz/targets/pkcs12-safe-contents.js';
import { FIXTURE_PASSWORD, loadFixture } from '../support/pfx-fixtures.js';

const refusal = (fn: () => unknown): Pkcs12Error => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Pkcs12Error) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

/** `depth` SEQUENCEs with indefinite lengths inside each other, then their end-of-contents. */
const indefinitelyNested = (depth: number): Buffer =>
  Buffer.concat([Buffer.alloc(depth * 2, Buffer.from([0x30, 0x80])), Buffer.alloc(depth * 2)]);

/** `depth` constructed OCTET STRINGs with definite lengths inside each other around one byte. */
function nestedOctetStrings(depth: number): Buffer {
  const inner = tlv(0x04, Buffer.from([0x01]));
  const headers: Buffer[] = [];
  let length = inner.length;
  for (let i = 0; i < depth; i++) {
    const header = derHeader(0x24, length);
    headers.push(header);
    length += header.length;
  }
  return Buffer.concat([...headers.reverse(), inner]);
}

describe('a 10 MB file', () => {
  // A real PFX that grew: the fixture with 10 MB of padding after it (OpenSSL ignores trailing
  // bytes, so this is the size check and not a parse error).
  const big = Buffer.concat([loadFixture('aes256/www.contoso.com.pfx'), Buffer.alloc(10 * 1024 * 1024)]);
  const text = `Unsupported PKCS#12 file size: ${big.length} bytes exceed the limit of ${MAX_PFX_BYTES}`;

  it('is refused by the password check and the certificate reader, naming the size', () => {
    for (const read of [
      () => verifyPfxPassword(big, FIXTURE_PASSWORD),
      () => readPfxCertificates(big, FIXTURE_PASSWORD),
    ]) {
      const error = refusal(read);
      expect(error.code).toBe('unsupported');
      expect(error.message).toBe(text);
    }
  });

  it('is listed in the inventory with that problem, not dropped', () => {
    const entry = describeCertificateFile(
      { name: 'big.pfx', size: big.length, mtimeMs: 0 },
      big,
      FIXTURE_PASSWORD,
    );
    expect(entry.error).toEqual({ code: 'unsupported', detail: text });
    expect(entry.certificate).toBeNull();
  });

  it('one byte under the limit is read as before', () => {
    const pfx = loadFixture('aes256/www.contoso.com.pfx');
    const padded = Buffer.concat([pfx, Buffer.alloc(MAX_PFX_BYTES - pfx.length)]);
    expect(readPfxCertificates(padded, FIXTURE_PASSWORD).certificates).toHaveLength(2);
  });
});

describe('deeply nested DER', () => {
  it('100,000 indefinite-length levels are refused as too deep', () => {
    const error = refusal(() => readPfxCertificates(indefinitelyNested(100_000), FIXTURE_PASSWORD));
    expect(error.code).toBe('malformed');
    expect(error.message).toBe('Malformed PKCS#12 data: nesting too deep');
  });

  it('a constructed OCTET STRING nested 100,000 deep as the authSafe is refused as too deep', () => {
    const authSafe = tlv(0xa0, nestedOctetStrings(100_000));
    const pfx = tlv(
      0x30,
      Buffer.concat([
        Buffer.from([0x02, 0x01, 0x03]),
        tlv(0x30, Buffer.concat([oid('1.2.840.113549.1.7.1'), authSafe])),
      ]),
    );
    const error = refusal(() => verifyPfxPassword(pfx, FIXTURE_PASSWORD));
    expect(error.message).toBe('Malformed PKCS#12 data: nesting too deep');
  });

  it(`nesting stops at ${MAX_DEPTH} levels: one more is refused, the limit itself is not about depth`, () => {
    expect(refusal(() => readPfxCertificates(indefinitelyNested(MAX_DEPTH + 2), '')).message).toBe(
      'Malformed PKCS#12 data: nesting too deep',
    );
    expect(refusal(() => readPfxCertificates(indefinitelyNested(MAX_DEPTH), '')).message).not.toBe(
      'Malformed PKCS#12 data: nesting too deep',
    );
  });

  it('SafeContents bags nested in each other stop at the fifth level', () => {
    const SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';
    let contents = tlv(0x30, Buffer.alloc(0));
    for (let i = 0; i < 6; i++) {
      contents = tlv(0x30, tlv(0x30, Buffer.concat([oid(SAFE_CONTENTS_BAG), tlv(0xa0, contents)])));
    }
    const error = refusal(() => readPfxCertificates(wrapSafeContents(contents), ''));
    expect(error.message).toBe('Malformed PKCS#12 data: SafeContents nested too deep');
  });

  it('a certificate nested 100,000 levels deep is refused by the X.509 reader', () => {
    const error = refusal(() => readX509(indefinitelyNested(100_000)));
    expect(error.message).toBe('Malformed PKCS#12 data: nesting too deep');
  });
});
