/**
 * RC2 (RFC 2268) in pure TypeScript. OpenSSL 3 only offers RC2 through its legacy provider,
 * which Node does not load, yet Windows (and `openssl pkcs12 -legacy`) still encrypt the
 * certificate bag of a PFX with pbeWithSHAAnd40BitRC2-CBC. Only what PKCS#12 needs is here:
 * key expansion with any effective key length, single-block encrypt/decrypt and CBC decryption.
 */

/** PITABLE of RFC 2268 section 2: a permutation of 0..255 derived from the digits of pi. */
const PITABLE = Uint8Array.from([
  0xd9, 0x78, 0xf9, 0xc4, 0x19, 0xdd, 0xb5, 0xed, 0x28, 0xe9, 0xfd, 0x79, 0x4a, 0xa0, 0xd8, 0x9d, 0xc6, 0x7e,
  0x37, 0x83, 0x2b, 0x76, 0x53, 0x8e, 0x62, 0x4c, 0x64, 0x88, 0x44, 0x8b, 0xfb, 0xa2, 0x17, 0x9a, 0x59, 0xf5,
  0x87, 0xb3, 0x4f, 0x13, 0x61, 0x45, 0x6d, 0x8d, 0x09, 0x81, 0x7d, 0x32, 0xbd, 0x8f, 0x40, 0xeb, 0x86, 0xb7,
  0x7b, 0x0b, 0xf0, 0x95, 0x21, 0x22, 0x5c, 0x6b, 0x4e, 0x82, 0x54, 0xd6, 0x65, 0x93, 0xce, 0x60, 0xb2, 0x1c,
  0x73, 0x56, 0xc0, 0x14, 0xa7, 0x8c, 0xf1, 0xdc, 0x12, 0x75, 0xca, 0x1f, 0x3b, 0xbe, 0xe4, 0xd1, 0x42, 0x3d,
  0xd4, 0x30, 0xa3, 0x3c, 0xb6, 0x26, 0x6f, 0xbf, 0x0e, 0xda, 0x46, 0x69, 0x07, 0x57, 0x27, 0xf2, 0x1d, 0x9b,
  0xbc, 0x94, 0x43, 0x03, 0xf8, 0x11, 0xc7, 0xf6, 0x90, 0xef, 0x3e, 0xe7, 0x06, 0xc3, 0xd5, 0x2f, 0xc8, 0x66,
  0x1e, 0xd7, 0x08, 0xe8, 0xea, 0xde, 0x80, 0x52, 0xee, 0xf7, 0x84, 0xaa, 0x72, 0xac, 0x35, 0x4d, 0x6a, 0x2a,
  0x96, 0x1a, 0xd2, 0x71, 0x5a, 0x15, 0x49, 0x74, 0x4b, 0x9f, 0xd0, 0x5e, 0x04, 0x18, 0xa4, 0xec, 0xc2, 0xe0,
  0x41, 0x6e, 0x0f, 0x51, 0xcb, 0xcc, 0x24, 0x91, 0xaf, 0x50, 0xa1, 0xf4, 0x70, 0x39, 0x99, 0x7c, 0x3a, 0x85,
  0x23, 0xb8, 0xb4, 0x7a, 0xfc, 0x02, 0x36, 0x5b, 0x25, 0x55, 0x97, 0x31, 0x2d, 0x5d, 0xfa, 0x98, 0xe3, 0x8a,
  0x92, 0xae, 0x05, 0xdf, 0x29, 0x10, 0x67, 0x6c, 0xba, 0xc9, 0xd3, 0x00, 0xe6, 0xcf, 0xe1, 0x9e, 0xa8, 0x2c,
  0x63, 0x16, 0x01, 0x3f, 0x58, 0xe2, 0x89, 0xa9, 0x0d, 0x38, 0x34, 0x1b, 0xab, 0x33, 0xff, 0xb0, 0xbb, 0x48,
  0x0c, 0x5f, 0xb9, 0xb1, 0xcd, 0x2e, 0xc5, 0xf3, 0xdb, 0x47, 0xe5, 0xa5, 0x9c, 0x77, 0x0a, 0xa6, 0x20, 0x68,
  0xfe, 0x7f, 0xc1, 0xad,
]);

const pi = (i: number): number => PITABLE[i & 0xff] ?? 0;

/** An expanded RC2 key: 64 16-bit subkeys. */
export class Rc2 {
  private readonly k: Uint16Array;

  /**
   * @param key 1 to 128 bytes
   * @param effectiveBits effective key length T1 in bits, 1 to 1024 (40 for RC2-40, 128 for RC2-128)
   */
  constructor(key: Uint8Array, effectiveBits: number) {
    if (key.length < 1 || key.length > 128) throw new RangeError('RC2 key must be 1 to 128 bytes');
    if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
      throw new RangeError('RC2 effective key bits must be 1 to 1024');
    }
    const l = new Uint8Array(128);
    l.set(key);
    const t = key.length;
    for (let i = t; i < 128; i++) l[i] = pi((l[i - 1] ?? 0) + (l[i - t] ?? 0));
    const t8 = (effectiveBits + 7) >> 3;
    const tm = 0xff >> (8 * t8 - effectiveBits);
    l[128 - t8] = pi((l[128 - t8] ?? 0) & tm);
    for (let i = 127 - t8; i >= 0; i--) l[i] = pi((l[i + 1] ?? 0) ^ (l[i + t8] ?? 0));
    this.k = new Uint16Array(64);
    for (let i = 0; i < 64; i++) this.k[i] = (l[2 * i] ?? 0) | ((l[2 * i + 1] ?? 0) << 8);
  }

  private subkey(i: number): number {
    return this.k[i & 63] ?? 0;
  }

  /** Encrypts one 8-byte block of `input` at `inOff` into `output` at `outOff`. */
  encryptBlock(input: Uint8Array, inOff: number, output: Uint8Array, outOff: number): void {
    let r0 = read16(input, inOff);
    let r1 = read16(input, inOff + 2);
    let r2 = read16(input, inOff + 4);
    let r3 = read16(input, inOff + 6);
    let j = 0;
    const mixRound = (): void => {
      r0 = rol(r0 + this.subkey(j++) + (r3 & r2) + (~r3 & r1), 1);
      r1 = rol(r1 + this.subkey(j++) + (r0 & r3) + (~r0 & r2), 2);
      r2 = rol(r2 + this.subkey(j++) + (r1 & r0) + (~r1 & r3), 3);
      r3 = rol(r3 + this.subkey(j++) + (r2 & r1) + (~r2 & r0), 5);
    };
    const mashRound = (): void => {
      r0 = (r0 + this.subkey(r3)) & 0xffff;
      r1 = (r1 + this.subkey(r0)) & 0xffff;
      r2 = (r2 + this.subkey(r1)) & 0xffff;
      r3 = (r3 + this.subkey(r2)) & 0xffff;
    };
    for (let i = 0; i < 5; i++) mixRound();
    mashRound();
    for (let i = 0; i < 6; i++) mixRound();
    mashRound();
    for (let i = 0; i < 5; i++) mixRound();
    write16(output, outOff, r0);
    write16(output, outOff + 2, r1);
    write16(output, outOff + 4, r2);
    write16(output, outOff + 6, r3);
  }

  /** Decrypts one 8-byte block of `input` at `inOff` into `output` at `outOff`. */
  decryptBlock(input: Uint8Array, inOff: number, output: Uint8Array, outOff: number): void {
    let r0 = read16(input, inOff);
    let r1 = read16(input, inOff + 2);
    let r2 = read16(input, inOff + 4);
    let r3 = read16(input, inOff + 6);
    let j = 63;
    const rmixRound = (): void => {
      r3 = (ror(r3, 5) - this.subkey(j--) - (r2 & r1) - (~r2 & r0)) & 0xffff;
      r2 = (ror(r2, 3) - this.subkey(j--) - (r1 & r0) - (~r1 & r3)) & 0xffff;
      r1 = (ror(r1, 2) - this.subkey(j--) - (r0 & r3) - (~r0 & r2)) & 0xffff;
      r0 = (ror(r0, 1) - this.subkey(j--) - (r3 & r2) - (~r3 & r1)) & 0xffff;
    };
    const rmashRound = (): void => {
      r3 = (r3 - this.subkey(r2)) & 0xffff;
      r2 = (r2 - this.subkey(r1)) & 0xffff;
      r1 = (r1 - this.subkey(r0)) & 0xffff;
      r0 = (r0 - this.subkey(r3)) & 0xffff;
    };
    for (let i = 0; i < 5; i++) rmixRound();
    rmashRound();
    for (let i = 0; i < 6; i++) rmixRound();
    rmashRound();
    for (let i = 0; i < 5; i++) rmixRound();
    write16(output, outOff, r0);
    write16(output, outOff + 2, r1);
    write16(output, outOff + 4, r2);
    write16(output, outOff + 6, r3);
  }
}

function read16(b: Uint8Array, off: number): number {
  return (b[off] ?? 0) | ((b[off + 1] ?? 0) << 8);
}

function write16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}

function rol(x: number, s: number): number {
  const v = x & 0xffff;
  return ((v << s) | (v >>> (16 - s))) & 0xffff;
}

function ror(x: number, s: number): number {
  return ((x >>> s) | (x << (16 - s))) & 0xffff;
}

/**
 * RC2-CBC decryption. Returns the plaintext WITH its padding (the caller checks and strips the
 * PKCS#7 padding, since a bad pad is how a wrong password usually shows).
 */
export function rc2CbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  effectiveBits: number,
): Buffer {
  if (iv.length !== 8) throw new RangeError('RC2-CBC needs an 8-byte IV');
  if (data.length % 8 !== 0) throw new RangeError('RC2-CBC data must be a whole number of blocks');
  const cipher = new Rc2(key, effectiveBits);
  const out = Buffer.alloc(data.length);
  let prev: Uint8Array = iv;
  let prevOff = 0;
  for (let off = 0; off < data.length; off += 8) {
    cipher.decryptBlock(data, off, out, off);
    for (let i = 0; i < 8; i++) out[off + i] = (out[off + i] ?? 0) ^ (prev[prevOff + i] ?? 0);
    prev = data;
    prevOff = off;
  }
  return out;
}
