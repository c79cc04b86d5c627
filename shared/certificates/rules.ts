/**
 * The rules the certificates API applies to an inventoried file, at read time (they depend on
 * the clock and on the fleet, not only on the file):
 *
 * - ids: a store id per ccs-id and a certificate id per (ccs-id, file name), both opaque,
 *   stable and case-insensitive in the file name (Windows file names are): a renewed
 *   certificate written over the same file keeps its id; a renamed file gets a new one.
 * - CCS naming: IIS looks a host name up as `<host name>.pfx`, a wildcard `*.<domain>` as
 *   `_.<domain>.pfx`. A file whose name is not covered by its certificate's DNS names (the
 *   subject alternative names; the common name only when there are none) never serves.
 * - problems: expired, not yet valid, expiring within the warning window, name mismatch, the
 *   file errors the agent reported, no private key, and encryption that a fleet host cannot
 *   read (PBES2/AES, which Windows reads only from Windows 10 1709 / Server 2019 on).
 */
import { createHash } from 'node:crypto';
import type { CertificateInfo, InventoryFile } from './metadata.js';

export const STORE_NAME = 'IIS Central Certificate Store';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Windows builds below this cannot import a PBES2 (AES) protected PFX: Server 2016 is 14393. */
export const PBES2_MIN_WINDOWS_BUILD = 16299;

const digest = (text: string): string =>
  createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 22);

/** The opaque, stable id of a ccs-id's store. */
export function storeIdOf(ccsId: string): string {
  return digest(`ccs-store\u0000${ccsId}`);
}

/** The opaque, stable id of a file of a ccs-id's share (case-insensitive in the name). */
export function certificateIdOf(ccsId: string, fileName: string): string {
  return digest(`ccs-certificate\u0000${ccsId}\u0000${fileName.toLowerCase()}`);
}

/** The host name a CCS file name stands for: `www.contoso.com.pfx` → `www.contoso.com`, `_.x` → `*.x`. */
export function hostNameOfFile(fileName: string): string | null {
  if (!/\.pfx$/i.test(fileName)) return null;
  const stem = fileName.slice(0, -4).toLowerCase();
  if (stem === '') return null;
  return stem.startsWith('_.') ? `*${stem.slice(1)}` : stem;
}

/** Whether certificate name `pattern` (possibly `*.domain`) covers host name `host` (possibly `*.domain`). */
export function nameCovers(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.') || h.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot) === p.slice(1);
}

/** The DNS names among a certificate's subject alternative names. */
export function dnsNamesOf(certificate: Pick<CertificateInfo, 'subjectAlternativeNames'>): string[] {
  return certificate.subjectAlternativeNames
    .filter((n) => n.startsWith('DNS Name='))
    .map((n) => n.slice('DNS Name='.length));
}

/** True when the file's name follows the CCS naming rules for the certificate it holds. */
export function fileNameMatches(file: Pick<InventoryFile, 'name' | 'certificate'>): boolean {
  const host = hostNameOfFile(file.name);
  const certificate = file.certificate;
  if (host === null || certificate === null) return false;
  const dns = dnsNamesOf(certificate);
  const names = dns.length > 0 ? dns : certificate.commonName ? [certificate.commonName] : [];
  return names.some((name) => nameCovers(name, host));
}

/** Whole days until expiry (negative once expired); null when the validity is unknown. */
export function expiresInDays(validTo: string | null | undefined, now: Date): number | null {
  if (!validTo) return null;
  const end = Date.parse(validTo);
  if (!Number.isFinite(end)) return null;
  return Math.floor((end - now.getTime()) / DAY_MS);
}

/** `10.0.14393` → 14393; null when the version is unknown or not `major.minor.build`. */
export function windowsBuild(osVersion: string | null | undefined): number | null {
  if (!osVersion) return null;
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(osVersion.trim());
  if (!match) return null;
  const major = Number(match[1]);
  // Before Windows 10 (6.x: 2008 R2 to 2012 R2) every build is older than any 10.0 build.
  return major < 10 ? 0 : Number(match[3]);
}

export const PROBLEM_CODES = [
  'expired',
  'not_yet_valid',
  'expiring',
  'name_mismatch',
  'wrong_password',
  'unreadable',
  'unsupported',
  'no_certificate',
  'no_private_key',
  'encryption_unsupported_by_hosts',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

export interface Problem {
  code: ProblemCode;
  detail: string;
}

export interface ProblemContext {
  now: Date;
  /** Days before expiry from which a certificate is `expiring`. */
  warningDays: number;
  /** The fleet hosts that report a Windows build too old for PBES2 (AES) PFX files. */
  legacyHosts: string[];
}

const isPbes2 = (algorithm: string | null | undefined): boolean =>
  typeof algorithm === 'string' && algorithm.startsWith('pbes2');

export function problemsOf(file: InventoryFile, context: ProblemContext): Problem[] {
  const problems: Problem[] = [];
  if (file.error) problems.push({ code: file.error.code, detail: file.error.detail });
  const certificate = file.certificate;
  if (certificate) {
    const days = expiresInDays(certificate.validTo, context.now);
    if (days !== null && Date.parse(certificate.validTo) <= context.now.getTime()) {
      problems.push({ code: 'expired', detail: `The certificate expired on ${certificate.validTo}` });
    } else if (days !== null && days < context.warningDays) {
      problems.push({
        code: 'expiring',
        detail: `The certificate expires in ${days} day${days === 1 ? '' : 's'} (${certificate.validTo})`,
      });
    }
    if (Date.parse(certificate.validFrom) > context.now.getTime()) {
      problems.push({
        code: 'not_yet_valid',
        detail: `The certificate is valid from ${certificate.validFrom}`,
      });
    }
    if (!fileNameMatches(file)) {
      const host = hostNameOfFile(file.name);
      problems.push({
        code: 'name_mismatch',
        detail:
          host === null
            ? 'The file name does not end in .pfx, so IIS never loads it'
            : `IIS serves this file for ${host}, which the certificate does not cover (CCS naming: <host name>.pfx, _.<domain>.pfx for *.<domain>)`,
      });
    }
  }
  if (file.pfx && !file.pfx.hasPrivateKey && !file.error) {
    problems.push({
      code: 'no_private_key',
      detail: 'The file holds no private key; IIS cannot serve TLS with it',
    });
  }
  if (file.pfx && (isPbes2(file.pfx.certificateEncryption) || isPbes2(file.pfx.keyEncryption))) {
    if (context.legacyHosts.length > 0) {
      const hosts = [...context.legacyHosts].sort();
      const listed =
        hosts.slice(0, 5).join(', ') + (hosts.length > 5 ? `, and ${hosts.length - 5} more` : '');
      problems.push({
        code: 'encryption_unsupported_by_hosts',
        detail: `The file is encrypted with PBES2/AES, which Windows reads only from Windows Server 2019 (Windows 10 1709) on; hosts that cannot read it: ${listed}`,
      });
    }
  }
  return problems;
}
