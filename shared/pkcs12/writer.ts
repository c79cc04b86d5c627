/**
 * Writes a PKCS#12 (.pfx) file: one private key, its certificate and the chain, in one of the
 * two profiles of ./profiles.ts. The cryptography is node-forge's (1.4.3): its PBE encryption
 * (`pki.encryptPrivateKeyInfo`, both PKCS#12 PBE-SHA1-3DES and PBES2 with a chosen PRF), its
 * PKCS#12 key derivation and HMAC, its DER encoder. Writing with one implementation and reading
 * back with another (our node:crypto reader, ./pfx.ts) is the point: a bug in either shows up as
 * a file that does not read back, and {@link writePfx} refuses to return such a file.
 *
 * Why the structure is assembled here rather than by forge's `pkcs12.toPkcs12Asn1`: that
 * function (1.4.3) always writes an HMAC-SHA1 MAC, leaves the certificate bag unencrypted,
 * accepts only forge RSA keys and certificates it can parse (no EC), and feeds the same password
 * string to PBKDF2 and to the PKCS#12 KDF (wrong for non-ASCII passwords: PBKDF2 takes UTF-8,
 * the PKCS#12 KDF takes BMPString). The layout follows what Windows and OpenSSL write (RFC 7292):
 * an encryptedData content with the certificate bags, then a data content with the shrouded key
 * bag; the leaf certificate and the key carry the same localKeyId (SHA-1 of the certificate).
 *
 * Keys: any PKCS#8 key node:crypto can export (RSA, EC on any named curve) — forge only wraps the
 * PrivateKeyInfo bytes. Passwords: "" is written the OpenSSL way (BMPString 00 00), which both
 * OpenSSL and Windows read. Nothing here logs, and errors never contain the password.
 */
import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { PFX_PROFILES, type PfxProfileId } from './profiles.js';
import { readPfxPrivateKeys } from './pfx.js';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const SALT_BYTES = 16;

export interface PfxInput {
  /**
   * The private key of `certificates[0]`; null writes the certificates alone (what Key Vault
   * serves as the secret of a certificate whose key is not exportable).
   */
  privateKey: KeyObject | null;
  /** DER certificates, the key's certificate first, then its chain. */
  certificates: Buffer[];
  /** Written as the friendlyName of the key and its certificate (Windows shows it). */
  friendlyName?: string;
}

export class PfxWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PfxWriteError';
  }
}

const bin = (buf: Buffer): string => buf.toString('binary');
const oid = (id: string): Asn1 =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const octets = (bytes: string): Asn1 =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const integer = (n: number): Asn1 =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(n).getBytes());
const explicit0 = (inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
const der = (node: Asn1): string => asn1.toDer(node).getBytes();

/** ContentInfo of type data around the DER of `inner`. */
const dataContent = (inner: Asn1): Asn1 => seq([oid(OID.data), explicit0(octets(der(inner)))]);

function bagAttributes(localKeyId: Buffer, friendlyName: string | undefined): Asn1 {
  const attrs = [
    seq([
      oid(OID.localKeyId),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(bin(localKeyId))]),
    ]),
  ];
  if (friendlyName !== undefined) {
    // BMPString: forge writes each UTF-16 code unit of the JS string as two bytes.
    const bmp = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, friendlyName);
    attrs.push(seq([oid(OID.friendlyName), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [bmp])]));
  }
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, attrs);
}

/** forge's PBE: `[AlgorithmIdentifier, ciphertext]` of the DER of `content`. */
function encrypt(content: Asn1, password: string, profile: PfxProfileId): [Asn1, string] {
  const { iterations } = PFX_PROFILES[profile];
  const epki =
    profile === 'tripledes-sha1'
      ? // PKCS#12 PBE: forge derives from the JS string's UTF-16 code units (BMPString).
        forge.pki.encryptPrivateKeyInfo(content, password, {
          algorithm: '3des',
          count: iterations,
          saltSize: SALT_BYTES,
        })
      : // PBES2/PBKDF2 takes the password's UTF-8 bytes (RFC 8018; OpenSSL and Windows agree).
        forge.pki.encryptPrivateKeyInfo(content, forge.util.encodeUtf8(password), {
          algorithm: 'aes256',
          prfAlgorithm: 'sha256',
          count: iterations,
          saltSize: SALT_BYTES,
        });
  const [algorithm, ciphertext] = epki.value as Asn1[];
  if (!algorithm || !ciphertext) throw new PfxWriteError('node-forge returned no ciphertext');
  return [algorithm, ciphertext.value as string];
}

function certificateSafe(input: PfxInput, attributes: Asn1, password: string, profile: PfxProfileId): Asn1 {
  const bags = input.certificates.map((cert, i) => {
    const certBag = seq([oid(OID.x509Certificate), explicit0(octets(bin(cert)))]);
    return seq([oid(OID.certBag), explicit0(certBag), ...(i === 0 ? [attributes] : [])]);
  });
  const [algorithm, ciphertext] = encrypt(seq(bags), password, profile);
  const encryptedContentInfo = seq([
    oid(OID.data),
    algorithm,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, ciphertext), // [0] IMPLICIT OCTET STRING
  ]);
  return seq([oid(OID.encryptedData), explicit0(seq([integer(0), encryptedContentInfo]))]);
}

function keySafe(pkcs8: Buffer, attributes: Asn1, password: string, profile: PfxProfileId): Asn1 {
  const [algorithm, ciphertext] = encrypt(asn1.fromDer(bin(pkcs8)), password, profile);
  const shrouded = seq([
    oid(OID.shroudedKeyBag),
    explicit0(seq([algorithm, octets(ciphertext)])),
    attributes,
  ]);
  return dataContent(seq([shrouded]));
}

function macData(authSafe: string, password: string, profile: PfxProfileId): Asn1 {
  const { iterations, mac } = PFX_PROFILES[profile];
  const digest = mac === 'sha256' ? forge.md.sha256.create() : forge.md.sha1.create();
  const salt = forge.random.getBytesSync(SALT_BYTES);
  const key = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(salt),
    3,
    iterations,
    digest.digestLength,
    digest,
  );
  const hmac = forge.hmac.create();
  hmac.start(mac === 'sha256' ? 'sha256' : 'sha1', key);
  hmac.update(authSafe);
  const algorithm = seq([
    oid(mac === 'sha256' ? OID.sha256 : OID.sha1),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
  return seq([seq([algorithm, octets(hmac.digest().getBytes())]), octets(salt), integer(iterations)]);
}

function checkInput(input: PfxInput): { leaf: X509Certificate; pkcs8: Buffer | null } {
  const [first] = input.certificates;
  if (!first) throw new PfxWriteError('A PFX needs at least one certificate');
  const leaf = new X509Certificate(first);
  const key = input.privateKey;
  if (key === null) return { leaf, pkcs8: null };
  if (key.type !== 'private') throw new PfxWriteError('privateKey is not a private key');
  if (!leaf.checkPrivateKey(key))
    throw new PfxWriteError('The private key does not belong to the first certificate');
  return { leaf, pkcs8: key.export({ format: 'der', type: 'pkcs8' }) };
}

/**
 * The PFX bytes of `input`, encrypted with `password` in `profile`, verified by reading them
 * back with shared/pkcs12's reader: the algorithms are the profile's, the certificates are the
 * input's in order, and the one key bag decrypts to the input key. Throws PfxWriteError when the
 * input is inconsistent or the file does not read back (never returns an unreadable file).
 */
export function writePfx(input: PfxInput, password: string, profile: PfxProfileId): Buffer {
  const { leaf, pkcs8 } = checkInput(input);
  const attributes = bagAttributes(createHash('sha1').update(leaf.raw).digest(), input.friendlyName);
  const safes = [certificateSafe(input, attributes, password, profile)];
  if (pkcs8 !== null) safes.push(keySafe(pkcs8, attributes, password, profile));
  const authSafe = der(seq(safes));
  const pfx = seq([
    integer(3),
    seq([oid(OID.data), explicit0(octets(authSafe))]),
    macData(authSafe, password, profile),
  ]);
  const bytes = Buffer.from(der(pfx), 'binary');
  verifyWrittenPfx(bytes, password, profile, input.certificates, pkcs8);
  return bytes;
}

/** Reads `pfx` back with our reader and checks it is exactly what {@link writePfx} meant to write. */
export function verifyWrittenPfx(
  pfx: Buffer,
  password: string,
  profile: PfxProfileId,
  certificates: Buffer[],
  pkcs8: Buffer | null,
): void {
  const expected = PFX_PROFILES[profile];
  let read: ReturnType<typeof readPfxPrivateKeys>;
  try {
    read = readPfxPrivateKeys(pfx, password);
  } catch (error) {
    throw new PfxWriteError(`The written PFX does not read back: ${(error as Error).message}`);
  }
  const { encryption, certificates: got } = read.contents;
  const fail = (what: string) => {
    throw new PfxWriteError(`The written PFX does not read back as written: ${what}`);
  };
  if (encryption.certBag !== expected.certBag) fail(`certificate bag ${encryption.certBag}`);
  if (encryption.keyBag !== (pkcs8 === null ? null : expected.keyBag))
    fail(`key bag ${String(encryption.keyBag)}`);
  if (encryption.mac !== expected.mac) fail(`MAC ${encryption.mac}`);
  if (
    got.length !== certificates.length ||
    got.some((c, i) => !c.equals(certificates[i] ?? Buffer.alloc(0)))
  ) {
    fail('certificates differ');
  }
  if (
    pkcs8 === null ? read.keys.length !== 0 : read.keys.length !== 1 || !read.keys[0]?.pkcs8.equals(pkcs8)
  ) {
    fail('private key differs');
  }
}
