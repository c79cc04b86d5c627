/**
 * Coverage of one fleet, pure: for every host name a CCS binding names, the share file IIS would
 * serve it from (shared/coverage.ts), whether that file can serve at all, and who binds the name;
 * the bindings that name no file; the files no binding uses.
 *
 * A name is `covered` when the file IIS picks opens with the store's private-key password and
 * holds a certificate and its key — expired or mismatched certificates are still served, so they
 * count as covered and carry their problems. It is `uncovered` when there is no such file, or the
 * file IIS picks cannot serve (IIS does not fall back to the wildcard file then).
 */
import { ccsFileCandidates, ccsFileFor, ccsLookupName, indexCcsFiles } from '../coverage.js';
import type { ProblemCode } from '../certificates/rules.js';
import type { CcsBinding } from '../messages.js';
import type { CertificateEntry } from '../services/inventory-service.js';
import type { HostBindings } from './model.js';

/** Problems that keep IIS from loading a file at all. */
const UNUSABLE: ReadonlySet<ProblemCode> = new Set([
  'wrong_password',
  'unreadable',
  'unsupported',
  'no_certificate',
  'no_private_key',
]);

/** One binding of one host. */
export interface BindingRef extends CcsBinding {
  host: string;
}

export interface NameCoverage {
  /** The name as IIS looks it up (ASCII, lower case; `*.domain` for a wildcard host header). */
  name: string;
  status: 'covered' | 'uncovered';
  /** Why an uncovered name is uncovered; null when covered. */
  reason: string | null;
  /** The file IIS picks for the name (usable or not); null when the share has none. */
  file: CertificateEntry | null;
  /** Covered, and the certificate expires within the warning days (or has expired). */
  expiring: boolean;
  /** Every binding that names it, in host, site, port order. */
  boundBy: BindingRef[];
}

export interface CoverageReport {
  names: NameCoverage[];
  /** CCS bindings without a name a file could serve (no host name, an IP address). */
  unnamed: BindingRef[];
  /** Files of the share that no bound name is served from. */
  unused: CertificateEntry[];
  summary: { covered: number; uncovered: number; expiring: number };
}

const byBinding = (a: BindingRef, b: BindingRef): number =>
  a.host.localeCompare(b.host) || a.site.localeCompare(b.site) || a.port - b.port || a.ip.localeCompare(b.ip);

export function coverageReport(
  hosts: readonly HostBindings[],
  files: readonly CertificateEntry[],
  warningDays: number,
): CoverageReport {
  const bound = new Map<string, BindingRef[]>();
  const unnamed: BindingRef[] = [];
  for (const { head, bindings } of hosts) {
    for (const binding of bindings) {
      const ref = { ...binding, host: head.host };
      const name = ccsLookupName(binding.hostName);
      if (name === null) unnamed.push(ref);
      else bound.set(name, [...(bound.get(name) ?? []), ref]);
    }
  }
  const byFile = new Map(files.map((entry) => [entry.row.file.name.toLowerCase(), entry]));
  const index = indexCcsFiles(files.map((entry) => entry.row.file.name));
  const used = new Set<string>();
  const names: NameCoverage[] = [];
  for (const [name, boundBy] of [...bound.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const fileName = ccsFileFor(name, index);
    const file = fileName === null ? null : (byFile.get(fileName.toLowerCase()) ?? null);
    if (file) used.add(file.row.file.name.toLowerCase());
    const unusable = file?.problems.find((p) => UNUSABLE.has(p.code));
    const reason =
      file === null
        ? `The share has no file for ${name}: IIS looks for ${ccsFileCandidates(name).join(', then ')}`
        : unusable
          ? `${file.row.file.name} cannot serve: ${unusable.detail}`
          : null;
    const covered = reason === null;
    names.push({
      name,
      status: covered ? 'covered' : 'uncovered',
      reason,
      file,
      expiring: covered && file?.expiresInDays != null && file.expiresInDays < warningDays,
      boundBy: boundBy.sort(byBinding),
    });
  }
  return {
    names,
    unnamed: unnamed.sort(byBinding),
    unused: files.filter((entry) => !used.has(entry.row.file.name.toLowerCase())),
    summary: {
      covered: names.filter((n) => n.status === 'covered').length,
      uncovered: names.filter((n) => n.status === 'uncovered').length,
      expiring: names.filter((n) => n.expiring).length,
    },
  };
}
