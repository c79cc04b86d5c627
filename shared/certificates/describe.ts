/**
 * One PFX file of the share → its inventory entry. Only the certificate bags are decrypted
 * (shared/pkcs12 never decrypts the private-key bag); nothing read here leaves as anything but
 * the public metadata of shared/certificates/metadata.ts. A file that cannot be read is still
 * an entry — with an error saying why — so it is listed with a problem, never dropped.
 */
import { Pkcs12Error, fileTooLarge, leafCertificateDer, readPfxCertificates } from '../pkcs12/pfx.js';
import {
  LIMITS,
  type CertificateInfo,
  type FileError,
  type InventoryFile,
  type PfxInfo,
} from './metadata.js';
import { readX509 } from './x509.js';

export interface FileStat {
  name: string;
  size: number;
  /** Last write time, milliseconds since the epoch. */
  mtimeMs: number;
}

const clip = (value: string, max: number): string => (value.length > max ? value.slice(0, max) : value);

function certificateInfo(der: Buffer): CertificateInfo {
  const x = readX509(der);
  const sans = x.subjectAlternativeNames.map((n) => clip(n, LIMITS.alternativeName));
  return {
    thumbprint: x.thumbprint,
    subject: clip(x.subject, LIMITS.text),
    issuer: clip(x.issuer, LIMITS.text),
    commonName: x.commonName === null ? null : clip(x.commonName, LIMITS.text),
    serialNumber: clip(x.serialNumber, 128),
    signatureAlgorithm: clip(x.signatureAlgorithm, 128),
    validFrom: x.validFrom,
    validTo: x.validTo,
    version: Math.min(3, Math.max(1, x.version)),
    intendedPurposes: x.intendedPurposes.slice(0, LIMITS.purposes).map((p) => clip(p, 128)),
    subjectAlternativeNames: sans.slice(0, LIMITS.alternativeNames),
    alternativeNamesTruncated: sans.length > LIMITS.alternativeNames,
    publicKey: {
      algorithm: clip(x.publicKey.algorithm, 64),
      size: x.publicKey.size,
      curve: x.publicKey.curve === null ? null : clip(x.publicKey.curve, 64),
    },
  };
}

function fileError(error: unknown): FileError {
  if (error instanceof Pkcs12Error) {
    if (error.code === 'wrong-password') {
      return {
        code: 'wrong_password',
        detail: 'The private-key password of the store does not open this file',
      };
    }
    if (error.code === 'unsupported') {
      return { code: 'unsupported', detail: clip(error.message, 512) };
    }
    return { code: 'unreadable', detail: clip(error.message, 512) };
  }
  return { code: 'unreadable', detail: 'The file is not a readable PKCS#12 (.pfx) file' };
}

const listed = (stat: FileStat): Pick<InventoryFile, 'name' | 'size' | 'modified'> => ({
  name: stat.name,
  size: stat.size,
  modified: new Date(stat.mtimeMs).toISOString(),
});

/**
 * The entry of a file whose listed size is over MAX_PFX_BYTES: the reader would refuse it, so
 * the agent does not read it into memory at all.
 */
export function describeOversizeFile(stat: FileStat): InventoryFile {
  return { ...listed(stat), certificate: null, pfx: null, error: fileError(fileTooLarge(stat.size)) };
}

/** The inventory entry of one file: never throws; a file it cannot read carries an error. */
export function describeCertificateFile(stat: FileStat, bytes: Buffer, password: string): InventoryFile {
  const base = listed(stat);
  try {
    // The decrypted certificate bag proves the password: the MAC would double the cost per file.
    const contents = readPfxCertificates(bytes, password, { macCheck: 'when-needed' });
    const pfx: PfxInfo = {
      certificateEncryption: contents.encryption.certBag,
      keyEncryption: contents.encryption.keyBag,
      mac: contents.encryption.mac,
      iterations: contents.encryption.iterations,
      certificates: contents.certificates.length,
      hasPrivateKey: contents.keys.length > 0,
    };
    // Found by its localKeyId, the leaf is parsed once, by readX509, and nothing else is.
    const leaf = leafCertificateDer(contents);
    if (!leaf) {
      return {
        ...base,
        certificate: null,
        pfx,
        error: { code: 'no_certificate', detail: 'The file holds no certificate' },
      };
    }
    return { ...base, certificate: certificateInfo(leaf), pfx, error: null };
  } catch (error) {
    return { ...base, certificate: null, pfx: null, error: fileError(error) };
  }
}
