/**
 * The coverage of a ccs-id as the API shows it (schema: functions/openapi/coverage-schemas.ts).
 * Long lists are cut (the totals say how many there are), so a fleet of thousands of bindings
 * gets a bounded answer.
 */
import type { z } from 'zod';
import type { BindingRef, CoverageReport } from '../../shared/bindings/coverage-report.js';
import type { CertificateEntry } from '../../shared/services/inventory-service.js';
import type { FleetCoverage } from '../../shared/services/coverage-service.js';
import type { CoverageSchema } from '../openapi/coverage-schemas.js';
import { certificateHref, inventoryStatus, storeHref } from './certificate-views.js';
import { ccsHref } from './views.js';

/** Names shown (alphabetically; `names_total` counts them all), bound-by entries per name, unnamed bindings. */
export const SHOWN_NAMES = 1000;
const SHOWN_BOUND_BY = 50;
const SHOWN_UNNAMED = 100;

/** `?status=covered|uncovered`: only those names. */
export type NameFilter = 'covered' | 'uncovered' | null;

const bindingRef = (b: BindingRef) => ({
  host: b.host,
  site: b.site,
  host_name: b.hostName,
  port: b.port,
  ip: b.ip,
  sni: b.sni,
});

const certificateRef = (entry: CertificateEntry) => ({
  alias: entry.row.file.name,
  id: entry.row.id,
  thumbprint: entry.row.file.certificate?.thumbprint ?? null,
  valid_to: entry.row.file.certificate?.validTo ?? null,
  expires_in_days: entry.expiresInDays,
  problems: entry.problems.map((p) => ({ code: p.code, detail: p.detail })),
  _links: { self: { href: certificateHref(entry.row.id) } },
});

export function coverageView(
  { ccsId, report, store }: FleetCoverage,
  filter: NameFilter = null,
): z.output<typeof CoverageSchema> {
  const names = filter === null ? report.names : report.names.filter((n) => n.status === filter);
  return {
    id: ccsId,
    summary: report.summary,
    inventory: { status: inventoryStatus(store), last_scan: store.lease.lastReportAt },
    names_total: names.length,
    names: names.slice(0, SHOWN_NAMES).map((n) => ({
      host_name: n.name,
      status: n.status,
      reason: n.reason,
      certificate: n.file && certificateRef(n.file),
      expiring: n.expiring,
      bound_by: n.boundBy.slice(0, SHOWN_BOUND_BY).map(bindingRef),
      bound_by_total: n.boundBy.length,
    })),
    unnamed_bindings: report.unnamed.slice(0, SHOWN_UNNAMED).map(bindingRef),
    unnamed_total: report.unnamed.length,
    unused: report.unused.map(certificateRef),
    _links: {
      self: { href: `${ccsHref(ccsId)}/coverage` },
      resource: { href: ccsHref(ccsId) },
      store: { href: storeHref(store.id) },
    },
  };
}

export type CoverageSummary = CoverageReport['summary'];
