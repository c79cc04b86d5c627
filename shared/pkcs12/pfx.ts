/**
 * A small PKCS#12 (.pfx) reader on node:crypto, for two jobs of the IIS agent:
 *
 * 1. {@link verifyPfxPassword}: does this password open this PFX? (The integrity MAC decides;
 *    nothing is decrypted when the file has a MAC.)
 * 2. {@link readPfxCertificates} / {@link describePfx}: list the certificates and how the file is
 *    protected. Only the encrypted-data content (the certificate bags) is decrypted; the shrouded
 *    private-key bag is NEVER decrypted — its algorithm and attributes (friendly name, local key
 *    id) are read from the clear-text wrapper.
 *
 * Supported protection:
 * - MAC: the classic PKCS#12 HMAC (RFC 7292) with MD5, SHA-1, SHA-224/256/384/512 and the
 *   PKCS#12 KDF. PBMAC1 (RFC 9579, OpenSSL ≥ 3.4 opt-in) is reported as 'unsupported'.
 * - Encrypted data: PBES2 (PBKDF2 with HMAC-SHA1/224/256/384/512 + AES-128/192/256-CBC,
 *   DES-EDE3-CBC or RC2-CBC) and the PKCS#12 PBEs pbeWithSHAAnd3-KeyTripleDES-CBC,
 *   2-KeyTripleDES-CBC, 128/40-bit RC2-CBC (pure-TS RC2, no legacy provider) and 128/40-bit RC4.
 * - Not supported ('unsupported' naming the OID): public-key integrity/privacy modes
 *   (signedData, envelopedData), PBES1 (DES/RC2 with MD2/MD5/SHA-1), PBES2 with single DES or a
 *   non-PBKDF2 KDF, detached encrypted content.
 *
 * Password encodings (the string is never logged or put in an error message):
 * - PKCS#12 KDF (MAC and PKCS#12 PBEs): BMPString (UTF-16BE) plus a 00 00 terminator.
 * - PBES2/PBKDF2: the UTF-8 bytes, as OpenSSL and Windows do.
 * - The empty password has two conventions: OpenSSL encodes "" as the BMPString `00 00`, while
 *   Windows (PFXExportCertStoreEx with an empty/NULL password) and OpenSSL's own NULL password
 *   use zero bytes. For "" both are tried, `00 00` first. (PBKDF2 gets zero bytes either way.)
 * - A password with non-ASCII characters is also tried in the pre-1.1.0 OpenSSL form (each
 *   UTF-8 byte taken as one BMP character), as `openssl pkcs12` itself does when reading.
 *
 * Errors: every failure is a {@link Pkcs12Error} — 'wrong-password', 'unsupported' (naming the
 * algorithm OID) or 'malformed'. Iteration counts above `maxIterations` (default 1,000,000) and
 * files over {@link MAX_PFX_BYTES} are refused as 'unsupported' so that a hostile file can pin
 * neither the CPU nor memory.
 */
import { X509Certificate, createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

import {
  type AlgorithmIdentifier,
  type DerNode,
  Pkcs12Error,
  Tag,
  explicit,
  isContext,
  isUniversal,
  malformed,
  parseSingle,
  readAlgorithm,
  readInteger,
  readNode,
  readOctetString,
  readOid,
  readString,
  readUnsigned,
  sequence,
  set,
} from './der.js';
import { DIGEST_SIZES, KdfId, type Pkcs12Digest, bmpPassword, pkcs12Kdf } from './kdf.js';
import { rc2CbcDecrypt } from './rc2.js';

export { Pkcs12Error, type Pkcs12ErrorCode } from './der.js';

// ---------------------------------------------------------------------------------------------
// Public types

/** How the certificate bag (the encrypted-data content) is protected. */
export type CertBagEncryption =
  | 'pbes2-aes-256-cbc'
  | 'pbes2-aes-192-cbc'
  | 'pbes2-aes-128-cbc'
  | 'pbes2-3des-cbc'
  | 'pbes2-rc2-cbc'
  | 'pbe-sha1-3des'
  | 'pbe-sha1-2des'
  | 'pbe-sha1-rc2-40'
  | 'pbe-sha1-rc2-128'
  | 'pbe-sha1-rc4-40'
  | 'pbe-sha1-rc4-128'
  | 'none';

export type PfxMacAlgorithm = Pkcs12Digest | 'none';

export interface PfxEncryptionInfo {
  /** Algorithm of the (first) encrypted-data content; 'none' when the certificates are in clear. */
  readonly certBag: CertBagEncryption;
  /**
   * Algorithm of the (first) private-key bag, named like `certBag` when known (else
   * `pbes2-<cipher OID>` or the OID); 'none' for a clear key bag; null when there is no key.
   */
  readonly keyBag: string | null;
  /** Digest of the integrity MAC, or 'none' when the file has no MAC. */
  readonly mac: PfxMacAlgorithm;
  /** The highest iteration count of MAC, certificate bag and key bag (0 if none): the import cost. */
  readonly iterations: number;
  readonly macIterations: number | null;
  readonly certBagIterations: number | null;
  readonly keyBagIterations: number | null;
}

export interface PfxCertificateBag {
  /** The certificate, DER. */
  readonly der: Buffer;
  /** friendlyName attribute (the "alias"), if any. */
  readonly friendlyName: string | null;
  /** localKeyId attribute, if any: equal to the private key's when the certificate is its. */
  readonly localKeyId: Buffer | null;
}

export interface PfxKeyBag {
  /** See {@link PfxEncryptionInfo.keyBag}. */
  readonly algorithm: string;
  readonly encrypted: boolean;
  readonly friendlyName: string | null;
  readonly localKeyId: Buffer | null;
}

export interface PfxContents {
  /** Every X.509 certificate, DER, in file order. */
  readonly certificates: Buffer[];
  /** The same certificates with their bag attributes. */
  readonly certificateBags: PfxCertificateBag[];
  /** Private-key bags (never decrypted). */
  readonly keys: PfxKeyBag[];
  readonly encryption: PfxEncryptionInfo;
}

export interface PfxCertificateEntry {
  readonly certificate: X509Certificate;
  readonly friendlyName: string | null;
  readonly localKeyId: Buffer | null;
}

export interface PfxDescription {
  readonly certificates: X509Certificate[];
  readonly entries: PfxCertificateEntry[];
  readonly keys: PfxKeyBag[];
  readonly encryption: PfxEncryptionInfo;
}

export interface PfxOptions {
  /** Refuse ('unsupported') any MAC or encryption iteration count above this. Default 1,000,000. */
  readonly maxIterations?: number;
  /**
   * Reading certificates ({@link readPfxCertificates}, {@link describePfx}): 'always' (the
   * default) checks the integrity MAC first; 'when-needed' checks it only when no content is
   * encrypted, because an encrypted certificate bag proves the password by itself (it must
   * decrypt with valid padding to a well-formed SafeContents) and the MAC's key derivation costs
   * as much again as the bag's (docs/performance.md). A wrong password is 'wrong-password'
   * either way; what 'when-needed' gives up is noticing a damaged MAC or key bag when the
   * certificates themselves read correctly.
   */
  readonly macCheck?: 'always' | 'when-needed';
}

export type PfxPasswordCheck = 'ok' | 'wrong-password' | 'unprotected';

export const DEFAULT_MAX_ITERATIONS = 1_000_000;

/**
 * The largest file the reader parses. A PFX of a certificate, its chain and its key is a few
 * kilobytes (the fixtures: 2–4 KB); 1 MiB leaves room for long chains and CRL bags while
 * keeping a hostile file dropped on the share from costing the agent more than that to refuse.
 */
export const MAX_PFX_BYTES = 1024 * 1024;

/** The refusal of a file over {@link MAX_PFX_BYTES}; also given by callers that skip reading it. */
export function fileTooLarge(size: number): Pkcs12Error {
  return new Pkcs12Error(
    'unsupported',
    `Unsupported PKCS#12 file size: ${size} bytes exceed the limit of ${MAX_PFX_BYTES}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Object identifiers

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  desEde3Cbc: '1.2.840.113549.3.7',
  rc2Cbc: '1.2.840.113549.3.2',
} as const;

const DIGEST_OIDS: Readonly<Record<string, Pkcs12Digest>> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const PRF_OIDS: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
  '1.2.840.113549.2.12': 'sha512-224',
  '1.2.840.113549.2.13': 'sha512-256',
};

type Pkcs12PbeCipher = 'rc4' | 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2-cbc';

/** PKCS#12 PBE schemes (RFC 7292 appendix C), all with SHA-1. */
const PKCS12_PBE: Readonly<
  Record<string, { name: CertBagEncryption; cipher: Pkcs12PbeCipher; keyLength: number; ivLength: number }>
> = {
  '1.2.840.113549.1.12.1.1': { name: 'pbe-sha1-rc4-128', cipher: 'rc4', keyLength: 16, ivLength: 0 },
  '1.2.840.113549.1.12.1.2': { name: 'pbe-sha1-rc4-40', cipher: 'rc4', keyLength: 5, ivLength: 0 },
  '1.2.840.113549.1.12.1.3': { name: 'pbe-sha1-3des', cipher: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  '1.2.840.113549.1.12.1.4': { name: 'pbe-sha1-2des', cipher: 'des-ede-cbc', keyLength: 16, ivLength: 8 },
  '1.2.840.113549.1.12.1.5': { name: 'pbe-sha1-rc2-128', cipher: 'rc2-cbc', keyLength: 16, ivLength: 8 },
  '1.2.840.113549.1.12.1.6': { name: 'pbe-sha1-rc2-40', cipher: 'rc2-cbc', keyLength: 5, ivLength: 8 },
};

type Pbes2CipherName = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | '3des-cbc' | 'rc2-cbc';

const PBES2_CIPHERS: Readonly<
  Record<string, { name: Pbes2CipherName; node: string; keyLength: number; ivLength: number }>
> = {
  [OID.aes128Cbc]: { name: 'aes-128-cbc', node: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  [OID.aes192Cbc]: { name: 'aes-192-cbc', node: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  [OID.aes256Cbc]: { name: 'aes-256-cbc', node: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  [OID.desEde3Cbc]: { name: '3des-cbc', node: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  [OID.rc2Cbc]: { name: 'rc2-cbc', node: 'rc2', keyLength: 0, ivLength: 8 },
};

/** Readable names for OIDs we refuse, so that 'unsupported' errors say what was met. */
const KNOWN_UNSUPPORTED: Readonly<Record<string, string>> = {
  [OID.signedData]: 'signedData (public-key integrity mode)',
  [OID.envelopedData]: 'envelopedData (public-key privacy mode)',
  [OID.pbmac1]: 'PBMAC1 (RFC 9579)',
  '1.2.840.113549.1.5.1': 'pbeWithMD2AndDES-CBC (PBES1)',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC (PBES1)',
  '1.2.840.113549.1.5.4': 'pbeWithMD2AndRC2-CBC (PBES1)',
  '1.2.840.113549.1.5.6': 'pbeWithMD5AndRC2-CBC (PBES1)',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC (PBES1)',
  '1.2.840.113549.1.5.11': 'pbeWithSHA1AndRC2-CBC (PBES1)',
  '1.3.14.3.2.7': 'desCBC (single DES)',
  '1.3.6.1.4.1.11591.4.11': 'scrypt',
};

function unsupported(what: string, oid: string): Pkcs12Error {
  const known = KNOWN_UNSUPPORTED[oid];
  return new Pkcs12Error(
    'unsupported',
    `Unsupported PKCS#12 ${what}: ${known ? `${known}, ` : ''}OID ${oid}`,
  );
}

const wrongPassword = (detail = 'the password does not open this PFX'): Pkcs12Error =>
  new Pkcs12Error('wrong-password', `Wrong PFX password: ${detail}`);

// ---------------------------------------------------------------------------------------------
// Password encodings

interface PasswordForm {
  /** For the PKCS#12 KDF (MAC and PKCS#12 PBEs). */
  readonly bmp: Buffer;
  /** For PBKDF2 (PBES2). */
  readonly utf8: Buffer;
}

function passwordForms(password: string): PasswordForm[] {
  const utf8 = Buffer.from(password, 'utf8');
  if (password === '') {
    return [
      { bmp: bmpPassword(''), utf8 }, // OpenSSL: "" → 00 00
      { bmp: Buffer.alloc(0), utf8 }, // Windows / NULL password: no bytes at all
    ];
  }
  const forms: PasswordForm[] = [{ bmp: bmpPassword(password), utf8 }];
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(password)) forms.push({ bmp: bmpPassword(utf8.toString('latin1')), utf8 });
  return forms;
}

// ---------------------------------------------------------------------------------------------
// Structure

interface MacData {
  readonly digest: Pkcs12Digest;
  readonly expected: Buffer;
  readonly salt: Buffer;
  readonly iterations: number;
}

interface ParsedPfx {
  /** The bytes the MAC covers: the content of the authSafe OCTET STRING. */
  readonly authSafe: Buffer;
  /** The ContentInfos of the AuthenticatedSafe. */
  readonly contents: DerNode[];
  readonly mac: MacData | null;
}

function parsePfx(pfx: Buffer): ParsedPfx {
  if (!Buffer.isBuffer(pfx)) throw malformed('input is not a Buffer');
  if (pfx.length > MAX_PFX_BYTES) throw fileTooLarge(pfx.length);
  // Trailing bytes after the PFX are ignored, as OpenSSL's d2i does.
  const top = sequence(readNode(pfx, 0), 'PFX');
  if (top.length < 2 || top.length > 3) throw malformed('PFX must have 2 or 3 elements');
  const version = readInteger(top[0], 'PFX version');
  if (version !== 3) throw new Pkcs12Error('unsupported', `Unsupported PKCS#12 version ${version}`);

  const authSafeInfo = sequence(top[1], 'authSafe ContentInfo');
  const contentType = readOid(authSafeInfo[0], 'authSafe content type');
  if (contentType !== OID.data) throw unsupported('integrity mode', contentType);
  if (authSafeInfo.length !== 2) throw malformed('authSafe ContentInfo without content');
  const authSafe = readOctetString(explicit(authSafeInfo[1], 0, 'authSafe content'), 'authSafe content');
  const contents = sequence(parseSingle(authSafe, 'AuthenticatedSafe', 1), 'AuthenticatedSafe');

  return { authSafe, contents, mac: top[2] === undefined ? null : parseMacData(top[2]) };
}

function parseMacData(node: DerNode): MacData {
  const parts = sequence(node, 'MacData');
  if (parts.length < 2 || parts.length > 3) throw malformed('MacData must have 2 or 3 elements');
  const digestInfo = sequence(parts[0], 'MAC DigestInfo');
  if (digestInfo.length !== 2) throw malformed('MAC DigestInfo must have 2 elements');
  const alg = readAlgorithm(digestInfo[0], 'MAC algorithm');
  const digest = DIGEST_OIDS[alg.oid];
  if (digest === undefined) throw unsupported('MAC algorithm', alg.oid);
  const expected = readOctetString(digestInfo[1], 'MAC value');
  const salt = readOctetString(parts[1], 'MAC salt');
  const iterations = parts[2] === undefined ? 1 : readUnsigned(parts[2], 'MAC iterations');
  return { digest, expected, salt, iterations };
}

function checkIterations(iterations: number, what: string, options: PfxOptions | undefined): void {
  const max = options?.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (iterations > max) {
    throw new Pkcs12Error(
      'unsupported',
      `Unsupported PKCS#12 ${what}: ${iterations} iterations exceed ${max}`,
    );
  }
}

function macMatches(mac: MacData, authSafe: Buffer, form: PasswordForm): boolean {
  const size = DIGEST_SIZES[mac.digest].u;
  if (mac.expected.length !== size) return false;
  const key = pkcs12Kdf(mac.digest, form.bmp, mac.salt, KdfId.Mac, mac.iterations, size);
  const actual = createHmac(mac.digest, key).update(authSafe).digest();
  return timingSafeEqual(actual, mac.expected);
}

/** The password form that passes the MAC, or null. */
function verifyMac(
  parsed: ParsedPfx & { mac: MacData },
  password: string,
  options?: PfxOptions,
): PasswordForm | null {
  checkIterations(parsed.mac.iterations, 'MAC', options);
  for (const form of passwordForms(password)) if (macMatches(parsed.mac, parsed.authSafe, form)) return form;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Algorithms

interface DescribedAlgorithm {
  readonly name: string;
  readonly iterations: number | null;
}

interface Pbes2Params {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly keyLength: number | undefined;
  readonly prf: string;
  readonly cipherOid: string;
  readonly cipherParams: DerNode | undefined;
}

function parsePbes2(params: DerNode | undefined): Pbes2Params {
  const parts = sequence(params, 'PBES2 parameters');
  if (parts.length !== 2) throw malformed('PBES2 parameters must have 2 elements');
  const kdf = readAlgorithm(parts[0], 'PBES2 key derivation');
  if (kdf.oid !== OID.pbkdf2) throw unsupported('PBES2 key derivation', kdf.oid);
  const enc = readAlgorithm(parts[1], 'PBES2 encryption scheme');

  const p = sequence(kdf.params, 'PBKDF2 parameters');
  if (p.length < 2 || p.length > 4) throw malformed('bad PBKDF2 parameters');
  const saltNode = p[0];
  if (saltNode !== undefined && isUniversal(saltNode, Tag.Sequence)) {
    throw new Pkcs12Error('unsupported', 'Unsupported PKCS#12 PBKDF2 salt source (otherSource)');
  }
  const salt = readOctetString(saltNode, 'PBKDF2 salt');
  const iterations = readUnsigned(p[1], 'PBKDF2 iterations');
  let keyLength: number | undefined;
  let prf = 'sha1';
  for (const extra of p.slice(2)) {
    if (isUniversal(extra, Tag.Integer)) {
      if (keyLength !== undefined || prf !== 'sha1') throw malformed('bad PBKDF2 parameters');
      keyLength = readUnsigned(extra, 'PBKDF2 key length', 1024);
    } else {
      const prfAlg = readAlgorithm(extra, 'PBKDF2 PRF');
      const name = PRF_OIDS[prfAlg.oid];
      if (name === undefined) throw unsupported('PBKDF2 PRF', prfAlg.oid);
      prf = name;
    }
  }
  return { salt, iterations, keyLength, prf, cipherOid: enc.oid, cipherParams: enc.params };
}

function parsePkcs12PbeParams(params: DerNode | undefined): { salt: Buffer; iterations: number } {
  const parts = sequence(params, 'PKCS#12 PBE parameters');
  if (parts.length !== 2) throw malformed('PKCS#12 PBE parameters must have 2 elements');
  return {
    salt: readOctetString(parts[0], 'PBE salt'),
    iterations: readUnsigned(parts[1], 'PBE iterations'),
  };
}

/** Names an encryption AlgorithmIdentifier without decrypting anything. */
function describeAlgorithm(alg: AlgorithmIdentifier): DescribedAlgorithm {
  const pbe = PKCS12_PBE[alg.oid];
  if (pbe !== undefined) return { name: pbe.name, iterations: parsePkcs12PbeParams(alg.params).iterations };
  if (alg.oid === OID.pbes2) {
    try {
      const p = parsePbes2(alg.params);
      const cipher = PBES2_CIPHERS[p.cipherOid];
      return { name: `pbes2-${cipher?.name ?? p.cipherOid}`, iterations: p.iterations };
    } catch (e) {
      // A KDF or PRF we could not use still names the scheme (a key bag is never decrypted).
      if (!(e instanceof Pkcs12Error) || e.code !== 'unsupported') throw e;
      const encAlg = readAlgorithm(sequence(alg.params, 'PBES2 parameters')[1], 'PBES2 encryption scheme');
      return { name: `pbes2-${PBES2_CIPHERS[encAlg.oid]?.name ?? encAlg.oid}`, iterations: null };
    }
  }
  return { name: alg.oid, iterations: null };
}

/** Signals a decryption that failed in a way a wrong password causes (bad padding, garbage). */
class BadDecrypt extends Error {}

function unpad(plain: Buffer, blockSize: number): Buffer {
  const n = plain[plain.length - 1] ?? 0;
  if (n < 1 || n > blockSize || n > plain.length) throw new BadDecrypt();
  for (let i = plain.length - n; i < plain.length; i++) if (plain[i] !== n) throw new BadDecrypt();
  return plain.subarray(0, plain.length - n);
}

function cbcDecrypt(cipher: string, key: Buffer, iv: Buffer, data: Buffer, blockSize: number): Buffer {
  if (data.length === 0 || data.length % blockSize !== 0) {
    throw malformed('encrypted content is not a whole number of cipher blocks');
  }
  const decipher = createDecipheriv(cipher, key, iv).setAutoPadding(false);
  return unpad(Buffer.concat([decipher.update(data), decipher.final()]), blockSize);
}

function rc4(key: Buffer, data: Buffer): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    const si = s[i] ?? 0;
    j = (j + si + (key[i % key.length] ?? 0)) & 0xff;
    s[i] = s[j] ?? 0;
    s[j] = si;
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    const si = s[i] ?? 0;
    j = (j + si) & 0xff;
    const sj = s[j] ?? 0;
    s[i] = sj;
    s[j] = si;
    out[n] = (data[n] ?? 0) ^ (s[(si + sj) & 0xff] ?? 0);
  }
  return out;
}

/** RC2 effective key bits from an RC2-CBC rc2ParameterVersion (RFC 8018 B.2.3). */
function rc2Bits(version: number | undefined): number {
  if (version === undefined) return 32;
  if (version >= 256) return Math.min(version, 1024);
  const legacy: Record<number, number> = { 160: 40, 120: 64, 58: 128 };
  const bits = legacy[version];
  if (bits === undefined) throw malformed('unknown RC2 parameter version');
  return bits;
}

/** Decrypts encrypted content. Throws BadDecrypt when the password is the likely culprit. */
function decrypt(alg: AlgorithmIdentifier, data: Buffer, form: PasswordForm, options?: PfxOptions): Buffer {
  const pbe = PKCS12_PBE[alg.oid];
  if (pbe !== undefined) {
    const { salt, iterations } = parsePkcs12PbeParams(alg.params);
    checkIterations(iterations, 'encryption', options);
    const key = pkcs12Kdf('sha1', form.bmp, salt, KdfId.Key, iterations, pbe.keyLength);
    if (pbe.cipher === 'rc4') return rc4(key, data);
    const iv = pkcs12Kdf('sha1', form.bmp, salt, KdfId.Iv, iterations, pbe.ivLength);
    if (pbe.cipher === 'rc2-cbc') {
      if (data.length === 0 || data.length % 8 !== 0) {
        throw malformed('encrypted content is not a whole number of cipher blocks');
      }
      return unpad(rc2CbcDecrypt(key, iv, data, pbe.keyLength * 8), 8);
    }
    return cbcDecrypt(pbe.cipher, key, iv, data, 8);
  }
  if (alg.oid !== OID.pbes2) throw unsupported('encryption algorithm', alg.oid);

  const p = parsePbes2(alg.params);
  checkIterations(p.iterations, 'encryption', options);
  const cipher = PBES2_CIPHERS[p.cipherOid];
  if (cipher === undefined) throw unsupported('PBES2 encryption scheme', p.cipherOid);
  if (cipher.node === 'rc2') {
    const rp = sequence(p.cipherParams, 'RC2-CBC parameters');
    if (rp.length < 1 || rp.length > 2) throw malformed('bad RC2-CBC parameters');
    const version = rp.length === 2 ? readUnsigned(rp[0], 'RC2 parameter version') : undefined;
    const iv = readOctetString(rp[rp.length - 1], 'RC2-CBC IV');
    if (iv.length !== 8) throw malformed('RC2-CBC IV must be 8 bytes');
    const bits = rc2Bits(version);
    const keyLength = p.keyLength ?? Math.ceil(bits / 8);
    if (keyLength < 1 || keyLength > 128) throw malformed('bad RC2 key length');
    if (data.length === 0 || data.length % 8 !== 0) {
      throw malformed('encrypted content is not a whole number of cipher blocks');
    }
    const key = pbkdf2Sync(form.utf8, p.salt, Math.max(1, p.iterations), keyLength, p.prf);
    return unpad(rc2CbcDecrypt(key, iv, data, bits), 8);
  }
  const iv = readOctetString(p.cipherParams, 'cipher IV');
  if (iv.length !== cipher.ivLength) throw malformed('bad cipher IV length');
  if (p.keyLength !== undefined && p.keyLength !== cipher.keyLength) throw malformed('bad PBKDF2 key length');
  const key = pbkdf2Sync(form.utf8, p.salt, Math.max(1, p.iterations), cipher.keyLength, p.prf);
  return cbcDecrypt(cipher.node, key, iv, data, cipher.ivLength);
}

// ---------------------------------------------------------------------------------------------
// Bags

interface Collected {
  readonly certificateBags: PfxCertificateBag[];
  readonly keys: PfxKeyBag[];
  readonly keyBagIterations: (number | null)[];
  /**
   * Per entry of `keys`: the still-encrypted EncryptedPrivateKeyInfo, or the clear
   * PrivateKeyInfo DER. Internal: only {@link readPfxPrivateKeys} ever decrypts one.
   */
  readonly keyMaterial: ({ encrypted: EncryptedContent } | { clear: Buffer })[];
}

interface BagAttributes {
  friendlyName: string | null;
  localKeyId: Buffer | null;
}

function readAttributes(node: DerNode | undefined): BagAttributes {
  const attrs: BagAttributes = { friendlyName: null, localKeyId: null };
  if (node === undefined) return attrs;
  for (const attr of set(node, 'bag attributes')) {
    const parts = sequence(attr, 'bag attribute');
    if (parts.length !== 2) throw malformed('bag attribute must have 2 elements');
    const oid = readOid(parts[0], 'bag attribute type');
    const values = set(parts[1], 'bag attribute values');
    if (oid === OID.friendlyName && values[0] !== undefined) {
      attrs.friendlyName = readString(values[0], 'friendlyName').replace(/\0+$/, '');
    } else if (oid === OID.localKeyId && values[0] !== undefined) {
      attrs.localKeyId = readOctetString(values[0], 'localKeyId');
    }
  }
  return attrs;
}

const MAX_SAFE_CONTENTS_NESTING = 4;

function collectSafeContents(der: Buffer, out: Collected, nesting = 0): void {
  for (const bag of sequence(parseSingle(der, 'SafeContents'), 'SafeContents')) {
    const parts = sequence(bag, 'SafeBag');
    if (parts.length < 2 || parts.length > 3) throw malformed('SafeBag must have 2 or 3 elements');
    const bagId = readOid(parts[0], 'SafeBag type');
    const value = explicit(parts[1], 0, 'SafeBag value');
    const attrs = readAttributes(parts[2]);
    switch (bagId) {
      case OID.certBag: {
        const cert = sequence(value, 'CertBag');
        if (cert.length !== 2) throw malformed('CertBag must have 2 elements');
        if (readOid(cert[0], 'certificate type') !== OID.x509Certificate) break; // SDSI certificates: skip
        const der = readOctetString(explicit(cert[1], 0, 'certificate value'), 'certificate value');
        expectCertificateShape(der);
        out.certificateBags.push({ der, ...attrs });
        break;
      }
      case OID.shroudedKeyBag: {
        // EncryptedPrivateKeyInfo: only the algorithm is read; the key stays encrypted.
        const epki = sequence(value, 'EncryptedPrivateKeyInfo');
        if (epki.length !== 2) throw malformed('EncryptedPrivateKeyInfo must have 2 elements');
        const data = readOctetString(epki[1], 'encrypted private key');
        const alg = readAlgorithm(epki[0], 'key encryption algorithm');
        const described = describeAlgorithm(alg);
        out.keys.push({ algorithm: described.name, encrypted: true, ...attrs });
        out.keyBagIterations.push(described.iterations);
        out.keyMaterial.push({ encrypted: { alg, data } });
        break;
      }
      case OID.keyBag:
        sequence(value, 'PrivateKeyInfo');
        out.keys.push({ algorithm: 'none', encrypted: false, ...attrs });
        out.keyBagIterations.push(null);
        out.keyMaterial.push({ clear: value.raw });
        break;
      case OID.safeContentsBag:
        if (nesting >= MAX_SAFE_CONTENTS_NESTING) throw malformed('SafeContents nested too deep');
        collectSafeContents(value.raw, out, nesting + 1);
        break;
      default:
        break; // CRL and secret bags, unknown bags: not our business
    }
  }
}

function expectCertificateShape(der: Buffer): void {
  const cert = sequence(parseSingle(der, 'certificate'), 'certificate');
  if (cert.length !== 3) throw malformed('a certificate must have 3 elements');
}

// ---------------------------------------------------------------------------------------------
// Reading

interface EncryptedContent {
  readonly alg: AlgorithmIdentifier;
  readonly data: Buffer;
}

function parseEncryptedData(content: DerNode): EncryptedContent {
  const ed = sequence(explicit(content, 0, 'EncryptedData'), 'EncryptedData');
  if (ed.length < 2 || ed.length > 3) throw malformed('EncryptedData must have 2 or 3 elements');
  readInteger(ed[0], 'EncryptedData version');
  const eci = sequence(ed[1], 'EncryptedContentInfo');
  if (eci.length < 2 || eci.length > 3) throw malformed('EncryptedContentInfo must have 2 or 3 elements');
  readOid(eci[0], 'encrypted content type');
  const alg = readAlgorithm(eci[1], 'content encryption algorithm');
  const enc = eci[2];
  if (enc === undefined)
    throw new Pkcs12Error('unsupported', 'Unsupported PKCS#12 detached encrypted content');
  if (!isContext(enc, 0)) throw malformed('expected [0] encrypted content');
  return { alg, data: readOctetString(enc, 'encrypted content', 0) };
}

interface OpenState {
  /** Password forms still in the running (narrowed to the one that works). */
  forms: PasswordForm[];
  /** True once the MAC (or an earlier decryption) proved the password. */
  proven: boolean;
}

/** Decrypts and parses one encrypted-data content, trying the password forms in turn. */
function openEncrypted(enc: EncryptedContent, state: OpenState, out: Collected, options?: PfxOptions): void {
  for (const form of state.forms) {
    // Structural problems (bad parameters, unsupported algorithms) propagate from decrypt();
    // only a bad pad, or garbage where SafeContents should be, points at the password.
    let plain: Buffer;
    try {
      plain = decrypt(enc.alg, enc.data, form, options);
    } catch (e) {
      if (!(e instanceof BadDecrypt)) throw e;
      if (state.proven) {
        throw wrongPassword('the certificate bag does not decrypt with the password that passed the MAC');
      }
      continue;
    }
    const attempt: Collected = { certificateBags: [], keys: [], keyBagIterations: [], keyMaterial: [] };
    try {
      collectSafeContents(plain, attempt);
    } catch (e) {
      if (e instanceof Pkcs12Error && e.code === 'malformed' && !state.proven) continue;
      throw e;
    }
    out.certificateBags.push(...attempt.certificateBags);
    out.keys.push(...attempt.keys);
    out.keyBagIterations.push(...attempt.keyBagIterations);
    out.keyMaterial.push(...attempt.keyMaterial);
    state.forms = [form];
    state.proven = true;
    return;
  }
  throw wrongPassword();
}

function contentTypeOf(info: DerNode): { type: string; content: DerNode | undefined } {
  const parts = sequence(info, 'ContentInfo');
  if (parts.length < 1 || parts.length > 2) throw malformed('ContentInfo must have 1 or 2 elements');
  return { type: readOid(parts[0], 'content type'), content: parts[1] };
}

interface OpenedContents extends PfxContents {
  readonly keyMaterial: Collected['keyMaterial'];
  /** The password forms still in the running once the file was opened. */
  readonly forms: PasswordForm[];
}

function readContents(pfx: Buffer, password: string, options?: PfxOptions): OpenedContents {
  const parsed = parsePfx(pfx);
  const state: OpenState = { forms: passwordForms(password), proven: false };
  const bagProvesPassword =
    options?.macCheck === 'when-needed' &&
    parsed.contents.some((info) => contentTypeOf(info).type === OID.encryptedData);
  if (parsed.mac !== null && !bagProvesPassword) {
    const form = verifyMac({ ...parsed, mac: parsed.mac }, password, options);
    if (form === null) throw wrongPassword();
    state.forms = [form];
    state.proven = true;
  }

  const out: Collected = { certificateBags: [], keys: [], keyBagIterations: [], keyMaterial: [] };
  let certBag: DescribedAlgorithm | null = null;
  for (const info of parsed.contents) {
    const { type, content } = contentTypeOf(info);
    if (type === OID.data) {
      if (content === undefined) continue;
      collectSafeContents(readOctetString(explicit(content, 0, 'data content'), 'data content'), out);
    } else if (type === OID.encryptedData) {
      if (content === undefined) throw malformed('encryptedData without content');
      const enc = parseEncryptedData(content);
      const described = describeAlgorithm(enc.alg);
      certBag ??= described;
      openEncrypted(enc, state, out, options);
    } else {
      throw unsupported('content type', type);
    }
  }

  const certBagName = (certBag?.name ?? 'none') as CertBagEncryption;
  const keyBagIterations = out.keyBagIterations[0] ?? null;
  const macIterations = parsed.mac?.iterations ?? null;
  const certBagIterations = certBag?.iterations ?? null;
  return {
    certificates: out.certificateBags.map((b) => b.der),
    certificateBags: out.certificateBags,
    keys: out.keys,
    encryption: {
      certBag: certBagName,
      keyBag: out.keys[0]?.algorithm ?? null,
      mac: parsed.mac?.digest ?? 'none',
      iterations: Math.max(0, macIterations ?? 0, certBagIterations ?? 0, keyBagIterations ?? 0),
      macIterations,
      certBagIterations,
      keyBagIterations,
    },
    keyMaterial: out.keyMaterial,
    forms: state.forms,
  };
}

/** Runs `fn`, turning anything that is not a Pkcs12Error into a 'malformed' one. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Pkcs12Error) throw e;
    throw malformed(e instanceof BadDecrypt ? 'bad padding' : 'unreadable structure', e);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Checks a password against a PFX without decrypting the private key.
 *
 * - With a MAC (every normal PFX): 'ok' when the HMAC matches under one of the password
 *   encodings (see the module comment), else 'wrong-password'. Nothing is decrypted.
 * - Without a MAC: the first encrypted-data content (the certificate bag) is decrypted and
 *   parsed; 'ok' if that works, else 'wrong-password'.
 * - Without a MAC and without encrypted data: 'unprotected' — nothing here can tell a right
 *   password from a wrong one (any password protects at most the key bag, never decrypted here).
 *
 * Throws Pkcs12Error 'malformed' or 'unsupported' for files it cannot judge.
 */
export function verifyPfxPassword(pfx: Buffer, password: string, options?: PfxOptions): PfxPasswordCheck {
  return guard(() => {
    const parsed = parsePfx(pfx);
    if (parsed.mac !== null) {
      return verifyMac({ ...parsed, mac: parsed.mac }, password, options) === null ? 'wrong-password' : 'ok';
    }
    for (const info of parsed.contents) {
      const { type, content } = contentTypeOf(info);
      if (type !== OID.encryptedData) continue;
      if (content === undefined) throw malformed('encryptedData without content');
      const state: OpenState = { forms: passwordForms(password), proven: false };
      const scratch: Collected = { certificateBags: [], keys: [], keyBagIterations: [], keyMaterial: [] };
      try {
        openEncrypted(parseEncryptedData(content), state, scratch, options);
      } catch (e) {
        if (e instanceof Pkcs12Error && e.code === 'wrong-password') return 'wrong-password';
        throw e;
      }
      return 'ok';
    }
    return 'unprotected';
  });
}

/**
 * Reads the certificates (DER) and the protection of a PFX. Decrypts only encrypted-data
 * content, never the shrouded key bag. Throws Pkcs12Error: 'wrong-password' when the MAC (or,
 * without a MAC, the decryption) rejects the password, 'unsupported' naming the OID of an
 * algorithm it cannot handle, 'malformed' for anything else.
 */
export function readPfxCertificates(pfx: Buffer, password: string, options?: PfxOptions): PfxContents {
  return guard(() => publicContents(readContents(pfx, password, options)));
}

/** Drops the internals (encrypted key material, password forms) from what a caller gets. */
function publicContents(opened: OpenedContents): PfxContents {
  const { certificates, certificateBags, keys, encryption } = opened;
  return { certificates, certificateBags, keys, encryption };
}

/** A private key of a PFX, decrypted: PKCS#8 PrivateKeyInfo DER and its bag's attributes. */
export interface PfxPrivateKey {
  readonly pkcs8: Buffer;
  readonly friendlyName: string | null;
  readonly localKeyId: Buffer | null;
}

/**
 * Reads a PFX like {@link readPfxCertificates} and also decrypts its private-key bags. Only for
 * code that must re-encrypt a key (the share publisher, the local Key Vault's import); the
 * inventory never calls it. The keys are held in memory only; never log or report them.
 * Throws Pkcs12Error: 'wrong-password' when a key bag does not decrypt with the password that
 * opened the rest of the file, otherwise as {@link readPfxCertificates}.
 */
export function readPfxPrivateKeys(
  pfx: Buffer,
  password: string,
  options?: PfxOptions,
): { contents: PfxContents; keys: PfxPrivateKey[] } {
  return guard(() => {
    const opened = readContents(pfx, password, options);
    const keys = opened.keyMaterial.map((material, i): PfxPrivateKey => {
      const bag = opened.keys[i];
      const attrs = { friendlyName: bag?.friendlyName ?? null, localKeyId: bag?.localKeyId ?? null };
      if ('clear' in material) return { pkcs8: material.clear, ...attrs };
      return { pkcs8: decryptKeyBag(material.encrypted, opened.forms, options), ...attrs };
    });
    return { contents: publicContents(opened), keys };
  });
}

function decryptKeyBag(enc: EncryptedContent, forms: PasswordForm[], options?: PfxOptions): Buffer {
  for (const form of forms) {
    let plain: Buffer;
    try {
      plain = decrypt(enc.alg, enc.data, form, options);
    } catch (e) {
      if (e instanceof BadDecrypt) continue;
      throw e;
    }
    try {
      sequence(parseSingle(plain, 'PrivateKeyInfo'), 'PrivateKeyInfo');
    } catch {
      continue; // garbage that happened to end in valid padding: a wrong password
    }
    return plain;
  }
  throw wrongPassword('the private-key bag does not decrypt with this password');
}

/** {@link readPfxCertificates}, with every certificate parsed as a `crypto.X509Certificate`. */
export function describePfx(pfx: Buffer, password: string, options?: PfxOptions): PfxDescription {
  return guard(() => {
    const contents = readContents(pfx, password, options);
    const entries = certificateEntries(contents.certificateBags);
    return {
      certificates: entries.map((e) => e.certificate),
      entries,
      keys: contents.keys,
      encryption: contents.encryption,
    };
  });
}

/**
 * The certificate of the PFX's private key:
 * 1. the certificate whose localKeyId equals a key bag's localKeyId (readable without
 *    decrypting the key);
 * 2. otherwise the first certificate that is not a CA (basicConstraints cA false or absent);
 * 3. otherwise (every certificate claims CA, e.g. a self-signed `openssl req -x509` cert) the
 *    first one that issued no other certificate of the file, else the first certificate.
 * Undefined when the file holds no certificate.
 */
export function leafCertificate(
  description: Pick<PfxDescription, 'entries' | 'keys'>,
): X509Certificate | undefined {
  const { entries, keys } = description;
  const byKeyId = matchingKeyId(entries, keys);
  if (byKeyId) return byKeyId.certificate;
  const nonCa = entries.find((e) => !e.certificate.ca);
  if (nonCa) return nonCa.certificate;
  const notIssuer = entries.find(
    (e) => !entries.some((o) => o !== e && o.certificate.checkIssued(e.certificate)),
  );
  return (notIssuer ?? entries[0])?.certificate;
}

/** Rule 1 of {@link leafCertificate}: the first entry whose localKeyId is a key bag's. */
function matchingKeyId<T extends { readonly localKeyId: Buffer | null }>(
  entries: readonly T[],
  keys: readonly PfxKeyBag[],
): T | undefined {
  for (const key of keys) {
    if (key.localKeyId === null) continue;
    const id = key.localKeyId;
    const match = entries.find((e) => e.localKeyId !== null && e.localKeyId.equals(id));
    if (match) return match;
  }
  return undefined;
}

/**
 * The DER of {@link leafCertificate}, from {@link readPfxCertificates}' contents. When a key
 * bag's localKeyId names the certificate (as in every PFX that OpenSSL, Windows and .NET write)
 * no certificate is parsed here at all; only otherwise is every certificate parsed as a
 * `crypto.X509Certificate` to apply rules 2 and 3 — the inventory reads thousands of files and
 * parses the leaf with its own reader anyway (docs/performance.md). Throws Pkcs12Error
 * 'malformed' when that fallback meets a certificate that is not valid X.509.
 */
export function leafCertificateDer(
  contents: Pick<PfxContents, 'certificateBags' | 'keys'>,
): Buffer | undefined {
  const byKeyId = matchingKeyId(contents.certificateBags, contents.keys);
  if (byKeyId) return byKeyId.der;
  const keys = contents.keys;
  return guard(() => leafCertificate({ entries: certificateEntries(contents.certificateBags), keys })?.raw);
}

/** Every certificate bag parsed as a `crypto.X509Certificate`; 'malformed' names the first bad one. */
function certificateEntries(bags: readonly PfxCertificateBag[]): PfxCertificateEntry[] {
  return bags.map((bag, i) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(bag.der);
    } catch (e) {
      throw malformed(`certificate ${i + 1} is not a valid X.509 certificate`, e);
    }
    return { certificate, friendlyName: bag.friendlyName, localKeyId: bag.localKeyId };
  });
}
