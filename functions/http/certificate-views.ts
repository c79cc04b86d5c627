/**
 * Response bodies of `/api/certificates`: the IIS Administration certificate and store models
 * (snake_case, `_links`), plus `expires_in_days` and `problems`, and — in the full model only —
 * `file` and `pfx`, which say where the certificate comes from and how it is protected. Never
 * key material: the inventory holds none.
 */
import { STORE_NAME } from '../../shared/certificates/rules.js';
import type { PublishedFileRecord } from '../../shared/publishing/model.js';
import type { CertificateEntry, StoreState } from '../../shared/services/inventory-service.js';
import type { z } from 'zod';
import type { CertificateSchema, StoreRefSchema, StoreSchema } from '../openapi/certificate-schemas.js';
import { API, ccsHref } from './views.js';

export const certificatesHref = `${API}/certificates`;
export const storeHref = (id: string): string => `${API}/certificates/stores/${id}`;
export const certificateHref = (id: string): string => `${API}/certificates/${id}`;

/** Which fields to render: the list's reference model, the full model, or the caller's list. */
export type FieldSelection = 'ref' | 'all' | ReadonlySet<string>;

/** The fields of the list's default (reference) model: IIS Administration's plus ours. */
export const REF_FIELDS: readonly string[] = [
  'alias',
  'id',
  'issued_by',
  'subject',
  'thumbprint',
  'valid_to',
  'expires_in_days',
  'problems',
  'store',
  'source',
];

/** `fields=*` → all, `fields=a,b` → those (id and _links always), absent/empty → `fallback`. */
export function fieldSelection(query: string | null, fallback: 'ref' | 'all'): FieldSelection {
  if (query === null) return fallback;
  const names = query
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (names.length === 0) return fallback;
  if (names.includes('*')) return 'all';
  return new Set(names);
}

/** A certificate as the API shows it: every field but `id` and `_links` is selectable. */
export type CertificateView = z.output<typeof CertificateSchema>;
type FullCertificate = Required<CertificateView>;

function pick(model: FullCertificate, selection: FieldSelection): CertificateView {
  if (selection === 'all') return model;
  const wanted = selection === 'ref' ? new Set(REF_FIELDS) : selection;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(model)) {
    if (key === 'id' || key === '_links' || wanted.has(key)) out[key] = value;
  }
  return out as CertificateView;
}

export function storeRef(store: StoreState): z.output<typeof StoreRefSchema> {
  return { name: STORE_NAME, id: store.id, _links: { self: { href: storeHref(store.id) } } };
}

export type InventoryStatus = 'current' | 'scanning' | 'failed' | 'no_scanner';

export function inventoryStatus(store: StoreState): InventoryStatus {
  const { lease, record } = store;
  if (lease.lastError !== null) return 'failed';
  if (lease.completedFullGeneration === record.generation && lease.completedFullSeq > 0) return 'current';
  return lease.holder === null ? 'no_scanner' : 'scanning';
}

export function storeView(store: StoreState): z.output<typeof StoreSchema> {
  const { lease } = store;
  return {
    name: STORE_NAME,
    id: store.id,
    claims: ['read'],
    is_windows_store: false,
    ccs_id: store.ccsId,
    path: store.record.desired.path,
    inventory: {
      status: inventoryStatus(store),
      scanner: lease.holder,
      last_scan: lease.lastReportAt,
      last_full_scan: lease.lastFullAt,
      files: lease.files,
      error: lease.lastError
        ? { name: lease.lastError.name, code: lease.lastError.code, detail: lease.lastError.detail }
        : null,
    },
    _links: {
      self: { href: storeHref(store.id) },
      certificates: { href: `${certificatesHref}?store.id=${store.id}` },
      centralized_certificates: { href: ccsHref(store.ccsId) },
    },
  };
}

/**
 * `published`: what the publisher wrote under this file name (shared/services/publishing-sources.ts
 * `publishedFile`); shown as `source` while the file still holds that certificate.
 */
export function certificateView(
  entry: CertificateEntry,
  selection: FieldSelection,
  published: PublishedFileRecord | null = null,
): CertificateView {
  const { row, store } = entry;
  const certificate = row.file.certificate;
  const pfx = row.file.pfx;
  const model: FullCertificate = {
    alias: row.file.name,
    id: row.id,
    issued_by: certificate?.issuer ?? null,
    subject: certificate?.subject ?? null,
    thumbprint: certificate?.thumbprint ?? null,
    signature_algorithm: certificate?.signatureAlgorithm ?? null,
    valid_from: certificate?.validFrom ?? null,
    valid_to: certificate?.validTo ?? null,
    // IIS Administration writes the version as a string.
    version: certificate ? String(certificate.version) : null,
    intended_purposes: certificate?.intendedPurposes ?? [],
    private_key:
      pfx?.hasPrivateKey && certificate
        ? {
            // The PFX file is itself an export of the key: whoever may read it can export it.
            exportable: true,
            algorithm: certificate.publicKey.algorithm,
            key_size: certificate.publicKey.size,
            curve: certificate.publicKey.curve,
          }
        : null,
    subject_alternative_names: certificate?.subjectAlternativeNames ?? [],
    expires_in_days: entry.expiresInDays,
    problems: entry.problems.map((p) => ({ code: p.code, detail: p.detail })),
    store: storeRef(store),
    file: {
      name: row.file.name,
      size: row.file.size,
      modified: row.file.modified,
      renamed_from: row.renamedFrom,
      first_seen: row.firstSeen,
      scanned: row.updatedAt,
    },
    pfx: pfx
      ? {
          certificate_encryption: pfx.certificateEncryption,
          key_encryption: pfx.keyEncryption,
          mac: pfx.mac,
          iterations: pfx.iterations,
          certificates: pfx.certificates,
        }
      : null,
    source:
      published && published.thumbprint === certificate?.thumbprint
        ? {
            key_vault_certificate: published.source,
            version: published.version,
            encryption: published.profile,
          }
        : null,
    _links: { self: { href: certificateHref(row.id) } },
  };
  return pick(model, selection);
}
