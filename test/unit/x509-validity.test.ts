/**
 * The validity of a certificate is shown as the certificate states it, or the certificate is
 * refused: JavaScript's Date would silently read GeneralizedTime year 0050 as 1950 and roll
 * 30 February over into March (found while writing the X.509 fuzz target's oracles).
 */
import { describe, expect, it } from 'vitest';
import { readX509 } from '../../shared/certificates/x509.js';
import { Pkcs12Error } from '../../shared/pkcs12/der.js';
import { oid, tlv } from '../fuzz/targets/der-dictionary.js';

const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const time = (tag: number, text: string): Buffer => tlv(tag, Buffer.from(text, 'latin1'));

/** A minimal v3 certificate (CN=x, Ed25519 key, no extensions) with the given validity. */
function certificate(notBefore: Buffer, notAfter: Buffer): Buffer {
  const name = tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([oid('2.5.4.3'), tlv(0x0c, Buffer.from('x'))]))));
  const algorithm = tlv(0x30, Buffer.concat([oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00])]));
  const key = tlv(0x30, Buffer.concat([tlv(0x30, oid('1.3.101.112')), tlv(0x03, Buffer.alloc(33))]));
  const validity = tlv(0x30, Buffer.concat([notBefore, notAfter]));
  const version = tlv(0xa0, Buffer.from([0x02, 0x01, 0x02]));
  const serial = Buffer.from([0x02, 0x01, 0x01]);
  const tbs = tlv(0x30, Buffer.concat([version, serial, algorithm, name, validity, name, key]));
  return tlv(0x30, Buffer.concat([tbs, algorithm, tlv(0x03, Buffer.from([0x00]))]));
}

const validity = (notBefore: Buffer, notAfter: Buffer) => {
  const info = readX509(certificate(notBefore, notAfter));
  return [info.validFrom, info.validTo];
};

describe('certificate validity', () => {
  it('reads both time types as stated, including years below 100 and 9999', () => {
    expect(validity(time(UTC_TIME, '250101000000Z'), time(UTC_TIME, '491231235959Z'))).toEqual([
      '2025-01-01T00:00:00Z',
      '2049-12-31T23:59:59Z',
    ]);
    expect(
      validity(time(GENERALIZED_TIME, '00500101000000Z'), time(GENERALIZED_TIME, '99991231235959Z')),
    ).toEqual(['0050-01-01T00:00:00Z', '9999-12-31T23:59:59Z']);
    // 29 February of leap years, in both types.
    expect(validity(time(UTC_TIME, '480229120000Z'), time(GENERALIZED_TIME, '20240229120000Z'))).toEqual([
      '2048-02-29T12:00:00Z',
      '2024-02-29T12:00:00Z',
    ]);
  });

  it.each([
    ['month 13', '20251301000000Z'],
    ['30 February', '20260230000000Z'],
    ['29 February of a common year', '20250229000000Z'],
    ['hour 25', '20250101250000Z'],
    ['minute 60', '20250101006000Z'],
    ['second 61', '20250101000061Z'],
    ['day 0', '20250100000000Z'],
  ])('refuses a time with %s', (_what, text) => {
    const read = () => readX509(certificate(time(UTC_TIME, '250101000000Z'), time(GENERALIZED_TIME, text)));
    expect(read).toThrow(Pkcs12Error);
    expect(read).toThrow('Malformed PKCS#12 data: bad notAfter');
  });
});
