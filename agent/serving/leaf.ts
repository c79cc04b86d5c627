/** The thumbprint of a PFX's leaf certificate (the one its key belongs to), as IIS would serve it. */
import { leafCertificateDer, readPfxCertificates } from '../../shared/pkcs12/pfx.js';
import { thumbprintOf } from './probe.js';

/** Null when the file holds no certificate; throws Pkcs12Error when the password does not open it. */
export function leafThumbprint(pfx: Buffer, password: string): string | null {
  const der = leafCertificateDer(readPfxCertificates(pfx, password));
  return der ? thumbprintOf(der) : null;
}
