/**
 * One source of the publisher — a Key Vault certificate version with its secret's bytes — made
 * ready to publish, or refused with a per-source error. Refused: a certificate without a private
 * key (Key Vault serves a non-exportable certificate's secret without it), a key IIS cannot use
 * (only RSA and ECDSA serve TLS through CCS), a certificate that is expired or not yet valid, one
 * that names no host a share file can serve, and bytes that do not read (or not with the given
 * password). Nothing is ever written for a refused source.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import {
  CertificateBundleError,
  readCertificateBundle,
  type CertificateFormat,
} from '../../shared/pkcs12/bundle.js';
import { fileNamesFor, type PlannedName, type SkippedName } from '../../shared/publishing/file-names.js';

/** A Key Vault certificate version to publish. */
export interface PublishSource {
  /** The Key Vault certificate name. */
  name: string;
  /** The Key Vault certificate version (its secret's version). */
  version: string;
  /** `pfx` for a secret of content type application/x-pkcs12, `pem` for application/x-pem-file. */
  format: CertificateFormat;
  /** The secret's value: PFX bytes (base64-decoded) or PEM text. */
  bytes: Buffer;
  /** The PFX or PEM key password, when the source has one (Key Vault's own secrets have none). */
  password?: string;
  /** Take over share files of these names that the publisher did not write. */
  overwrite?: boolean;
}

export type SourceErrorCode =
  | 'unreadable'
  | 'wrong_password'
  | 'no_private_key'
  | 'unsupported_key'
  | 'expired'
  | 'not_yet_valid'
  | 'no_host_names'
  | 'duplicate_source'
  | 'name_conflict'
  | 'file_not_owned';

export interface SourceError {
  source: string;
  version: string;
  code: SourceErrorCode;
  /** Says what is wrong, naming files or dates; never a password or key material. */
  detail: string;
  /** The share files concerned, when the error is about files. */
  files?: string[];
}

export interface PreparedSource {
  source: PublishSource;
  privateKey: KeyObject;
  /** The key's certificate first, then the chain. */
  certificates: X509Certificate[];
  /** SHA-1, upper-case hex. */
  thumbprint: string;
  names: PlannedName[];
  skipped: SkippedName[];
}

const refuse = (source: PublishSource, code: SourceErrorCode, detail: string): { error: SourceError } => ({
  error: { source: source.name, version: source.version, code, detail },
});

export function prepareSource(
  source: PublishSource,
  now: Date,
): { prepared: PreparedSource } | { error: SourceError } {
  let bundle;
  try {
    bundle = readCertificateBundle(source.bytes, source.format, source.password);
  } catch (error) {
    if (!(error instanceof CertificateBundleError)) throw error;
    if (error.code === 'wrong-password')
      return refuse(
        source,
        'wrong_password',
        `The ${source.format.toUpperCase()} does not open with the source's password`,
      );
    return refuse(
      source,
      'unreadable',
      `The ${source.format.toUpperCase()} cannot be read: ${error.message}`,
    );
  }
  const [leaf] = bundle.certificates;
  if (!leaf) return refuse(source, 'unreadable', 'The source holds no certificate');
  if (!bundle.privateKey) {
    return refuse(
      source,
      'no_private_key',
      'The source has no private key: a Key Vault certificate must have an exportable key to be published',
    );
  }
  const keyType = bundle.privateKey.asymmetricKeyType;
  if (keyType !== 'rsa' && keyType !== 'ec') {
    return refuse(
      source,
      'unsupported_key',
      `IIS serves TLS with RSA or ECDSA keys, not ${keyType ?? 'this key type'}`,
    );
  }
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (now < validFrom)
    return refuse(source, 'not_yet_valid', `The certificate is valid only from ${validFrom.toISOString()}`);
  if (now > validTo) return refuse(source, 'expired', `The certificate expired on ${validTo.toISOString()}`);
  const { names, skipped } = fileNamesFor(leaf);
  if (names.length === 0)
    return refuse(source, 'no_host_names', 'The certificate names no host name a CCS file can serve');
  return {
    prepared: {
      source,
      privateKey: bundle.privateKey,
      certificates: bundle.certificates,
      thumbprint: leaf.fingerprint.replace(/:/g, '').toUpperCase(),
      names,
      skipped,
    },
  };
}
