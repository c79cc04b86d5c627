/**
 * The private-key operations of the local Key Vault. Key Vault's `sign` and `verify` take the
 * digest the caller computed (REST reference, Keys - Sign: "value: The value to operate on";
 * the SDK's CryptographyClient.signData hashes locally and sends the hash), so the vault signs a
 * hash it did not compute. Node's `crypto.sign` always hashes again, so:
 *
 * - ECDSA (ES256/ES384/ES512): s = k⁻¹(e + r·d) mod n with r = (k·G).x mod n. The point k·G is
 *   computed natively by ECDH (an ECDH public key *is* k·G); only the arithmetic mod n is done
 *   here with BigInt. Verification uses the private key the vault holds: u1·G + u2·Q =
 *   (u1 + u2·d)·G, again one native multiplication. Signatures are `r || s`, each as wide as the
 *   curve's order (what Key Vault returns: an ES256 signature is 64 bytes, recording
 *   `sign__signdata_and_verify__verifydata_using_es256` in the keyvault-keys SDK).
 * - RSA (RS256/RS384/RS512): EMSA-PKCS1-v1_5 is the DigestInfo of the digest, padded and raised
 *   to the private exponent — exactly `privateEncrypt` with PKCS#1 padding (RFC 8017 §9.2).
 *   PS256/PS384/PS512 are refused by this stand-in (see key-vault.ts).
 */
import {
  constants,
  createECDH,
  createPrivateKey,
  createPublicKey,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
} from 'node:crypto';

/** The elliptic curves Key Vault offers for EC keys, with what ECDSA over each needs. */
export const CURVES = {
  'P-256': {
    ecdh: 'prime256v1',
    alg: 'ES256',
    bytes: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'P-384': {
    ecdh: 'secp384r1',
    alg: 'ES384',
    bytes: 48,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  'P-521': {
    ecdh: 'secp521r1',
    alg: 'ES512',
    bytes: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
} as const;
export type Curve = keyof typeof CURVES;

/** RSA signature algorithms this stand-in performs, with the DER DigestInfo prefix of each hash. */
export const RSA_DIGEST_INFO = {
  RS256: { bytes: 32, prefix: Buffer.from('3031300d060960864801650304020105000420', 'hex') },
  RS384: { bytes: 48, prefix: Buffer.from('3041300d060960864801650304020205000430', 'hex') },
  RS512: { bytes: 64, prefix: Buffer.from('3051300d060960864801650304020305000440', 'hex') },
} as const;
export type RsaAlgorithm = keyof typeof RSA_DIGEST_INFO;

/** How many bytes of digest each ECDSA algorithm signs (its hash's output). */
export const EC_DIGEST_BYTES = { ES256: 32, ES384: 48, ES512: 64 } as const;

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`));

function toBytes(value: bigint, width: number): Buffer {
  return Buffer.from(value.toString(16).padStart(width * 2, '0'), 'hex');
}

const mod = (a: bigint, n: bigint): bigint => ((a % n) + n) % n;

/** a⁻¹ mod n by the extended Euclidean algorithm (n is prime and a ≠ 0 mod n). */
function modInverse(a: bigint, n: bigint): bigint {
  let [r0, r1] = [mod(a, n), n];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, n);
}

/** The x coordinate of k·G on `curve` (k in [1, n-1]). */
function baseMultipleX(curve: Curve, k: bigint): bigint {
  const { ecdh, bytes } = CURVES[curve];
  const ecdhKey = createECDH(ecdh);
  ecdhKey.setPrivateKey(toBytes(k, bytes));
  const point = ecdhKey.getPublicKey(); // 0x04 || X || Y
  return toBigInt(point.subarray(1, 1 + bytes));
}

/** The digest as an integer, keeping its leftmost bits when it is wider than the order (FIPS 186-5). */
function digestInteger(curve: Curve, digest: Buffer): bigint {
  const orderBits = CURVES[curve].order.toString(2).length;
  const e = toBigInt(digest);
  const excess = digest.length * 8 - orderBits;
  return excess > 0 ? e >> BigInt(excess) : e;
}

function randomScalar(n: bigint, width: number): bigint {
  for (;;) {
    const k = toBigInt(randomBytes(width)) % n;
    if (k !== 0n) return k;
  }
}

/** ECDSA over `digest` with the private scalar `d`: `r || s`. */
export function ecdsaSign(curve: Curve, d: Buffer, digest: Buffer): Buffer {
  const { order: n, bytes } = CURVES[curve];
  const e = digestInteger(curve, digest);
  const dn = toBigInt(d);
  for (;;) {
    const k = randomScalar(n, bytes + 8);
    const r = baseMultipleX(curve, k) % n;
    if (r === 0n) continue;
    const s = mod(modInverse(k, n) * (e + r * dn), n);
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r, bytes), toBytes(s, bytes)]);
  }
}

/** Checks `r || s` over `digest` for the key whose private scalar is `d`. */
export function ecdsaVerify(curve: Curve, d: Buffer, digest: Buffer, signature: Buffer): boolean {
  const { order: n, bytes } = CURVES[curve];
  if (signature.length !== bytes * 2) return false;
  const r = toBigInt(signature.subarray(0, bytes));
  const s = toBigInt(signature.subarray(bytes));
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  const w = modInverse(s, n);
  const u1 = mod(digestInteger(curve, digest) * w, n);
  const u2 = mod(r * w, n);
  const t = mod(u1 + u2 * toBigInt(d), n);
  if (t === 0n) return false;
  return baseMultipleX(curve, t) % n === r;
}

/** RSASSA-PKCS1-v1_5 over a digest the caller computed. */
export function rsaSign(privateKeyPem: string, alg: RsaAlgorithm, digest: Buffer): Buffer {
  const encoded = Buffer.concat([RSA_DIGEST_INFO[alg].prefix, digest]);
  return privateEncrypt(
    { key: createPrivateKey(privateKeyPem), padding: constants.RSA_PKCS1_PADDING },
    encoded,
  );
}

export function rsaVerify(
  privateKeyPem: string,
  alg: RsaAlgorithm,
  digest: Buffer,
  signature: Buffer,
): boolean {
  const publicKey = createPublicKey(createPrivateKey(privateKeyPem));
  try {
    const encoded = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    return encoded.equals(Buffer.concat([RSA_DIGEST_INFO[alg].prefix, digest]));
  } catch {
    return false;
  }
}
