/**
 * DER building blocks for the PKCS#12 and X.509 targets: a TLV encoder and a dictionary of the
 * encoded OIDs and headers the reader branches on (libFuzzer's `-dict`), so that the mutator can
 * splice in an algorithm or a bag type it would never guess byte by byte.
 */

/** The tag and definite length of a TLV whose content is `length` bytes. */
export function derHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

/** One TLV with a definite length. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([derHeader(tag, content.length), content]);
}

/** An OBJECT IDENTIFIER TLV from its dotted form. */
export function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const OIDS = [
  // PKCS#7 content types, PKCS#12 bags and attributes
  '1.2.840.113549.1.7.1',
  '1.2.840.113549.1.7.2',
  '1.2.840.113549.1.7.3',
  '1.2.840.113549.1.7.6',
  '1.2.840.113549.1.12.10.1.1',
  '1.2.840.113549.1.12.10.1.2',
  '1.2.840.113549.1.12.10.1.3',
  '1.2.840.113549.1.12.10.1.6',
  '1.2.840.113549.1.9.22.1',
  '1.2.840.113549.1.9.20',
  '1.2.840.113549.1.9.21',
  // encryption and MAC
  '1.2.840.113549.1.5.13',
  '1.2.840.113549.1.5.12',
  '1.2.840.113549.1.5.14',
  '2.16.840.1.101.3.4.1.2',
  '2.16.840.1.101.3.4.1.42',
  '1.2.840.113549.3.7',
  '1.2.840.113549.3.2',
  '1.2.840.113549.1.12.1.1',
  '1.2.840.113549.1.12.1.3',
  '1.2.840.113549.1.12.1.4',
  '1.2.840.113549.1.12.1.6',
  '1.3.14.3.2.26',
  '2.16.840.1.101.3.4.2.1',
  '2.16.840.1.101.3.4.2.3',
  '1.2.840.113549.2.9',
  '1.2.840.113549.2.7',
  // X.509: names, extensions, keys, signatures
  '2.5.4.3',
  '2.5.4.10',
  '0.9.2342.19200300.100.1.25',
  '2.5.29.17',
  '2.5.29.19',
  '2.5.29.37',
  '1.3.6.1.5.5.7.3.1',
  '1.3.6.1.4.1.311.20.2.3',
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.11',
  '1.2.840.10045.2.1',
  '1.2.840.10045.3.1.7',
  '1.3.101.112',
];

export const PKCS12_DICTIONARY: readonly Buffer[] = [
  ...OIDS.map(oid),
  Buffer.from([0x02, 0x01, 0x03]), // INTEGER 3 (PFX version)
  Buffer.from([0x05, 0x00]), // NULL
  Buffer.from([0x30, 0x80]), // SEQUENCE, indefinite length
  Buffer.from([0x24, 0x80]), // constructed OCTET STRING, indefinite length
  Buffer.from([0x00, 0x00]), // end-of-contents
  Buffer.from([0xa0, 0x80]), // [0] constructed, indefinite length
  Buffer.from([0x02, 0x03, 0x0f, 0x42, 0x40]), // INTEGER 1,000,000
  Buffer.from([0x01, 0x01, 0xff]), // BOOLEAN true
  Buffer.from('170d3235303130313030303030305a', 'hex'), // UTCTime 250101000000Z
  Buffer.from('180f32303530303130313030303030305a', 'hex'), // GeneralizedTime 20500101000000Z
  Buffer.from([0x1e, 0x02, 0x00, 0x41]), // BMPString "A"
];
