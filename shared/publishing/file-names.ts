/**
 * The share file names a certificate needs, as IIS's Central Certificate Store looks them up:
 * `<host>.pfx` for a host name and `_.<parent>.pfx` for a wildcard `*.<parent>` (one file per
 * name: a certificate with several names needs one file for each). Names come from the DNS
 * subject alternative names, or the common name when there are none (as browsers and
 * shared/certificates/rules.ts do); lowercased, a trailing dot dropped. IIS matches the SNI host
 * name, which is always ASCII, so an internationalised name is written in its A-label
 * (punycode) form: `bücher.example` → `xn--bcher-kva.example.pfx`.
 *
 * Names that cannot serve through CCS are skipped with a reason, never written: IP addresses,
 * wildcards other than a whole leftmost label, invalid host names, and names Windows cannot
 * use as a file name (reserved device names like `con`, longer than 255 characters).
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export interface PlannedName {
  /** The host name as IIS matches it (lowercase ASCII, `*.` for a wildcard). */
  host: string;
  /** The file name in the share. */
  file: string;
}

export interface SkippedName {
  name: string;
  reason:
    'ip-address' | 'partial-wildcard' | 'invalid-host-name' | 'reserved-file-name' | 'file-name-too-long';
}

export interface CertificateNames {
  names: PlannedName[];
  skipped: SkippedName[];
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** Windows device names: `con.pfx` opens the console, not a file (Naming Files, Paths, and Namespaces). */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/;
const MAX_FILE_NAME = 255;

/** The DNS names of a certificate: its SAN dNSNames, or its CN when it has none. */
export function dnsNamesOf(certificate: X509Certificate): string[] {
  const sans = (certificate.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
  if (sans.length > 0) return sans;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  return cn ? [cn] : [];
}

function plan(name: string): PlannedName | SkippedName {
  const trimmed = name.trim().replace(/\.$/, '');
  if (isIP(trimmed) !== 0) return { name, reason: 'ip-address' };
  const wildcard = trimmed.startsWith('*.');
  const rest = wildcard ? trimmed.slice(2) : trimmed;
  if (rest.includes('*')) return { name, reason: 'partial-wildcard' };
  const ascii = domainToASCII(rest.toLowerCase());
  const labels = ascii.split('.');
  if (ascii === '' || !labels.every((l) => LABEL.test(l)) || (wildcard && labels.length < 2)) {
    return { name, reason: 'invalid-host-name' };
  }
  const file = `${wildcard ? '_.' : ''}${ascii}.pfx`;
  if (RESERVED.test(labels[0] ?? '') && !wildcard) return { name, reason: 'reserved-file-name' };
  if (file.length > MAX_FILE_NAME) return { name, reason: 'file-name-too-long' };
  return { host: `${wildcard ? '*.' : ''}${ascii}`, file };
}

/** One file per distinct name of `certificate`, in the certificate's order; the rest skipped. */
export function fileNamesFor(certificate: X509Certificate): CertificateNames {
  const names: PlannedName[] = [];
  const skipped: SkippedName[] = [];
  const seen = new Set<string>();
  for (const name of dnsNamesOf(certificate)) {
    const planned = plan(name);
    if ('reason' in planned) skipped.push(planned);
    else if (!seen.has(planned.file)) {
      seen.add(planned.file);
      names.push(planned);
    }
  }
  return { names, skipped };
}
