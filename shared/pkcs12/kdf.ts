/**
 * PKCS#12 key derivation (RFC 7292 appendix B.2), used by the PKCS#12 PBE schemes
 * (pbeWithSHAAnd3-KeyTripleDES-CBC, ...RC2...) and by the classic PKCS#12 HMAC integrity check.
 * PBES2 does not use it (PBKDF2 from node:crypto does that job).
 */
import { hash } from 'node:crypto';

export type Pkcs12Digest = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Purpose byte of the derivation ("ID" in RFC 7292 B.3). */
export const KdfId = { Key: 1, Iv: 2, Mac: 3 } as const;
export type KdfId = (typeof KdfId)[keyof typeof KdfId];

/** Output size `u` and block size `v` of each digest, in bytes. */
export const DIGEST_SIZES: Readonly<Record<Pkcs12Digest, { readonly u: number; readonly v: number }>> = {
  md5: { u: 16, v: 64 },
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/**
 * The password as PKCS#12 wants it: a BMPString (UTF-16 big-endian; characters outside the BMP
 * become surrogate pairs, as OpenSSL does) followed by a two-byte 00 00 terminator.
 * The empty password therefore becomes `00 00`; see pfx.ts for the zero-length convention.
 */
export function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** Repeats `data` to fill `v * ceil(len / v)` bytes (the S and P strings of B.2). */
function stretch(data: Buffer, v: number): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const out = Buffer.alloc(v * Math.ceil(data.length / v));
  for (let i = 0; i < out.length; i += data.length) data.copy(out, i);
  return out;
}

/**
 * Derives `length` bytes. `password` is the already-encoded password (see {@link bmpPassword};
 * pass an empty buffer for the "no password" convention). Iteration counts below 1 count as 1,
 * as in OpenSSL.
 */
export function pkcs12Kdf(
  digest: Pkcs12Digest,
  password: Buffer,
  salt: Buffer,
  id: KdfId,
  iterations: number,
  length: number,
): Buffer {
  const { u, v } = DIGEST_SIZES[digest];
  const rounds = Math.max(1, Math.floor(iterations));
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([stretch(salt, v), stretch(password, v)]);
  const blocks = Math.ceil(length / u);
  const out = Buffer.alloc(blocks * u);
  const b = Buffer.alloc(v);
  for (let n = 0; n < blocks; n++) {
    const a = iterate(digest, hash(digest, Buffer.concat([d, i]), 'buffer'), rounds - 1);
    a.copy(out, n * u);
    if (n === blocks - 1) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block I_j of I.
    for (let k = 0; k < v; k += u) a.copy(b, k, 0, Math.min(u, v - k));
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        carry += (i[j + k] ?? 0) + (b[k] ?? 0);
        i[j + k] = carry & 0xff;
        carry >>>= 8;
      }
    }
  }
  return out.subarray(0, length);
}

// ---------------------------------------------------------------------------------------------
// The iterated part, A = H(H(...H(A))), hashes a single digest-sized message again and again.
// One node:crypto call costs ~3 µs, which made 2,048 iterations cost ~7 ms; for SHA-1 and
// SHA-256 (every real PFX) a one-block TypeScript compression is several times faster.

/** Applies `digest` `times` more times to `first`. */
function iterate(digest: Pkcs12Digest, first: Buffer, times: number): Buffer {
  if (times <= 0) return first;
  if (digest === 'sha1') return iterateSha1(first, times);
  if (digest === 'sha256') return iterateSha256(first, times);
  let a = first;
  for (let r = 0; r < times; r++) a = hash(digest, a, 'buffer');
  return a;
}

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

function toWords(buf: Buffer, count: number): Uint32Array {
  const w = new Uint32Array(count);
  for (let j = 0; j < count; j++) w[j] = buf.readUInt32BE(j * 4);
  return w;
}

function fromWords(w: Uint32Array, count: number): Buffer {
  const out = Buffer.alloc(count * 4);
  for (let j = 0; j < count; j++) out.writeUInt32BE(w[j] ?? 0, j * 4);
  return out;
}

/** SHA-1 of a 20-byte message, `times` times over (one padded block each time). */
function iterateSha1(first: Buffer, times: number): Buffer {
  const h = toWords(first, 5);
  const w = new Uint32Array(80);
  for (let r = 0; r < times; r++) {
    w.set(h);
    w[5] = 0x80000000;
    w.fill(0, 6, 15);
    w[15] = 160;
    for (let t = 16; t < 80; t++) {
      w[t] = rotl((w[t - 3] ?? 0) ^ (w[t - 8] ?? 0) ^ (w[t - 14] ?? 0) ^ (w[t - 16] ?? 0), 1);
    }
    let a = 0x67452301;
    let b = 0xefcdab89;
    let c = 0x98badcfe;
    let d = 0x10325476;
    let e = 0xc3d2e1f0;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const tmp = (rotl(a, 5) + f + e + k + (w[t] ?? 0)) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    h[0] = a + 0x67452301;
    h[1] = b + 0xefcdab89;
    h[2] = c + 0x98badcfe;
    h[3] = d + 0x10325476;
    h[4] = e + 0xc3d2e1f0;
  }
  return fromWords(h, 5);
}

/** The first 32 bits of the fractional part of x. */
const frac32 = (x: number): number => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;

function firstPrimes(n: number): number[] {
  const primes: number[] = [];
  for (let c = 2; primes.length < n; c++) if (primes.every((p) => c % p !== 0)) primes.push(c);
  return primes;
}

/** SHA-256 constants (FIPS 180-4 4.2.2 and 5.3.3), derived rather than typed in. */
const SHA256_K = Uint32Array.from(firstPrimes(64), (p) => frac32(Math.cbrt(p)));
const SHA256_H0 = Uint32Array.from(firstPrimes(8), (p) => frac32(Math.sqrt(p)));

/** SHA-256 of a 32-byte message, `times` times over (one padded block each time). */
function iterateSha256(first: Buffer, times: number): Buffer {
  const h = toWords(first, 8);
  const w = new Uint32Array(64);
  const h0 = SHA256_H0;
  for (let r = 0; r < times; r++) {
    w.set(h);
    w[8] = 0x80000000;
    w.fill(0, 9, 15);
    w[15] = 256;
    for (let t = 16; t < 64; t++) {
      const w15 = w[t - 15] ?? 0;
      const w2 = w[t - 2] ?? 0;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      w[t] = (w[t - 16] ?? 0) + s0 + (w[t - 7] ?? 0) + s1;
    }
    let a = h0[0] ?? 0;
    let b = h0[1] ?? 0;
    let c = h0[2] ?? 0;
    let d = h0[3] ?? 0;
    let e = h0[4] ?? 0;
    let f = h0[5] ?? 0;
    let g = h0[6] ?? 0;
    let hh = h0[7] ?? 0;
    for (let t = 0; t < 64; t++) {
      const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + s1 + ch + (SHA256_K[t] ?? 0) + (w[t] ?? 0)) | 0;
      const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = a + (h0[0] ?? 0);
    h[1] = b + (h0[1] ?? 0);
    h[2] = c + (h0[2] ?? 0);
    h[3] = d + (h0[3] ?? 0);
    h[4] = e + (h0[4] ?? 0);
    h[5] = f + (h0[5] ?? 0);
    h[6] = g + (h0[6] ?? 0);
    h[7] = hh + (h0[7] ?? 0);
  }
  return fromWords(h, 8);
}
