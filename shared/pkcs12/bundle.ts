/**
 * Reads a certificate with its private key out of the two formats Key Vault stores a
 * certificate's secret in (Key Vault REST, Import Certificate: "PFX or PEM format ... the PEM
 * file must contain the key as well as x509 certificates"): `application/x-pkcs12` (a PFX,
 * possibly with a password) and `application/x-pem-file` (PEM blocks: the PKCS#8 key, possibly
 * encrypted, and the certificates). The local Key Vault's import and the share publisher both
 * need the key in hand to re-encrypt it. Errors name what is wrong, never the password.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { Pkcs12Error, leafCertificate, readPfxPrivateKeys } from './pfx.js';

export type CertificateFormat = 'pfx' | 'pem';

export type BundleErrorCode =
  'wrong-password' | 'malformed' | 'unsupported' | 'no-certificate' | 'several-keys' | 'key-mismatch';

export class CertificateBundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateBundleError';
  }
}

/** A certificate, its chain and (when the source had one) its private key. In memory only. */
export interface CertificateBundle {
  /** Null when the source holds no private key (e.g. a non-exportable Key Vault certificate). */
  privateKey: KeyObject | null;
  /** The key's certificate first (the first certificate when there is no key), then the rest in source order. */
  certificates: X509Certificate[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const KEY_BLOCKS = new Set(['PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

/** The leaf-first order: the certificate of `key` (or `preferred`), then the others. */
function leafFirst(certificates: X509Certificate[], key: KeyObject | null, preferred?: X509Certificate) {
  const leaf =
    (key && certificates.find((c) => c.checkPrivateKey(key))) ??
    (key ? undefined : (preferred ?? certificates[0]));
  if (!leaf)
    throw new CertificateBundleError('key-mismatch', 'The private key belongs to none of the certificates');
  return [leaf, ...certificates.filter((c) => c !== leaf)];
}

function keyFrom(text: string | Buffer, password: string | undefined, der: boolean): KeyObject {
  try {
    return der
      ? createPrivateKey({ key: text, format: 'der', type: 'pkcs8' })
      : createPrivateKey({
          key: text,
          format: 'pem',
          ...(password !== undefined && { passphrase: password }),
        });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : '';
    if (
      /BAD_DECRYPT|PASSPHRASE|INTERRUPTED_OR_CANCELLED/i.test(reason) ||
      /passphrase|decrypt/i.test(String(error))
    ) {
      throw new CertificateBundleError(
        'wrong-password',
        'The private key does not decrypt with this password',
      );
    }
    throw new CertificateBundleError('unsupported', 'The private key is not a key node:crypto can read');
  }
}

function readPem(text: string, password: string | undefined): CertificateBundle {
  const certificates: X509Certificate[] = [];
  const keys: KeyObject[] = [];
  for (const [block, type = ''] of text.matchAll(PEM_BLOCK)) {
    if (type === 'CERTIFICATE') {
      try {
        certificates.push(new X509Certificate(block));
      } catch {
        throw new CertificateBundleError(
          'malformed',
          `PEM certificate ${certificates.length + 1} is not valid X.509`,
        );
      }
    } else if (KEY_BLOCKS.has(type)) keys.push(keyFrom(block, password, false));
  }
  if (certificates.length === 0)
    throw new CertificateBundleError('no-certificate', 'The PEM holds no certificate');
  if (keys.length > 1)
    throw new CertificateBundleError('several-keys', 'The PEM holds more than one private key');
  const privateKey = keys[0] ?? null;
  return { privateKey, certificates: leafFirst(certificates, privateKey) };
}

function readPfx(bytes: Buffer, password: string): CertificateBundle {
  let read: ReturnType<typeof readPfxPrivateKeys>;
  try {
    read = readPfxPrivateKeys(bytes, password);
  } catch (error) {
    if (error instanceof Pkcs12Error) throw new CertificateBundleError(error.code, error.message);
    throw error;
  }
  const entries = read.contents.certificateBags.map((bag, i) => {
    try {
      return {
        certificate: new X509Certificate(bag.der),
        friendlyName: bag.friendlyName,
        localKeyId: bag.localKeyId,
      };
    } catch {
      throw new CertificateBundleError('malformed', `PFX certificate ${i + 1} is not valid X.509`);
    }
  });
  if (entries.length === 0)
    throw new CertificateBundleError('no-certificate', 'The PFX holds no certificate');
  if (read.keys.length > 1)
    throw new CertificateBundleError('several-keys', 'The PFX holds more than one private key');
  const first = read.keys[0];
  const privateKey = first ? keyFrom(first.pkcs8, undefined, true) : null;
  const certificates = entries.map((e) => e.certificate);
  return {
    privateKey,
    certificates: leafFirst(certificates, privateKey, leafCertificate({ entries, keys: read.contents.keys })),
  };
}

/**
 * The certificate, chain and key of a PFX (`password` may be "" or absent for none) or of PEM
 * text (`password` decrypts an ENCRYPTED PRIVATE KEY block). Throws CertificateBundleError.
 */
export function readCertificateBundle(
  bytes: Buffer,
  format: CertificateFormat,
  password?: string,
): CertificateBundle {
  if (format === 'pem') return readPem(bytes.toString('utf8'), password);
  return readPfx(bytes, password ?? '');
}
