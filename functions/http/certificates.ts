/**
 * `/api/certificates`, in the shape of the IIS Administration certificates API, over the
 * agents' inventory of each enabled ccs-id's share (docs/certificates.md):
 *
 *   GET  /api/certificates[?store.id=…][&fields=…][&expiring_within=N]   (Range: certificates=a-b)
 *   HEAD /api/certificates[?store.id=…]                                  → X-Total-Count
 *   GET  /api/certificates/{id}[?fields=…]
 *   GET  /api/certificates/stores, /api/certificates/stores/{id}
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { invalid, notFound } from '../../shared/errors.js';
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';
import { certificateView, fieldSelection, storeView } from './certificate-views.js';

const RANGE_UNIT = 'certificates';

/** `?expiring_within=N`: whole days, 0-36500. */
export function expiringWithin(request: HttpRequest): number | undefined {
  const raw = request.query.get('expiring_within');
  if (raw === null) return undefined;
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 36_500) {
    throw invalid('expiring_within', 'expiring_within must be a whole number of days (0-36500)');
  }
  return Number(raw);
}

export type RangeRequest = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * `Range: certificates=a-b` (zero-based, inclusive). Another unit is ignored (RFC 9110); a
 * malformed range or one starting past the end is unsatisfiable; an end past the last
 * certificate is cut to it, so a client paging by 50 needs no special last page.
 */
export function parseRange(header: string | null, total: number): RangeRequest {
  if (header === null) return null;
  const unit = /^\s*([A-Za-z]+)\s*=/.exec(header);
  if (!unit || unit[1]?.toLowerCase() !== RANGE_UNIT) return null;
  const match = /^\s*certificates\s*=\s*(\d{1,9})\s*-\s*(\d{1,9})\s*$/i.exec(header);
  if (!match) return 'unsatisfiable';
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end || start >= total) return 'unsatisfiable';
  return { start, end: Math.min(end, total - 1) };
}

function rangeNotSatisfiable(total: number, headers: Record<string, string>): HttpResponseInit {
  return json(
    416,
    {
      title: 'Range not satisfiable',
      name: 'Range',
      detail: `The range must be certificates=a-b with a ≤ b and a < ${total}`,
      status: 416,
    },
    { ...headers, 'Content-Range': `${RANGE_UNIT} */${total}`, 'x-ms-error-code': 'RangeNotSatisfiable' },
  );
}

export const listCertificates = guarded('read', async ({ app, request }) => {
  const storeId = request.query.get('store.id') ?? undefined;
  const entries = await app.inventory.certificates({ storeId, expiringWithinDays: expiringWithin(request) });
  if (entries === null) throw notFound('store.id', 'No certificate store has this id', 'StoreNotFound');
  const total = entries.length;
  const headers: Record<string, string> = { 'X-Total-Count': String(total), 'Accept-Ranges': RANGE_UNIT };
  const range = parseRange(request.headers.get('range'), total);
  if (range === 'unsatisfiable') return rangeNotSatisfiable(total, headers);
  if (range) headers['Content-Range'] = `${RANGE_UNIT} ${range.start}-${range.end}/${total}`;
  if (request.method === 'HEAD') {
    return { status: 200, headers: { 'Cache-Control': 'no-store', ...headers } };
  }
  const selection = fieldSelection(request.query.get('fields'), 'ref');
  const page = range ? entries.slice(range.start, range.end + 1) : entries;
  const published = await app.publishing.sources.publishedFiles(page.map((e) => e.store.ccsId));
  const sourceOf = (e: (typeof page)[number]) =>
    published.get(e.store.ccsId)?.get(e.row.file.name.toLowerCase()) ?? null;
  return json(200, { certificates: page.map((e) => certificateView(e, selection, sourceOf(e))) }, headers);
});

export const getCertificate = guarded('read', async ({ app, request }) => {
  const entry = await app.inventory.certificate(request.params.id ?? '');
  if (!entry) throw notFound('id', 'Certificate not found', 'CertificateNotFound');
  const published = await app.publishing.sources.publishedFiles([entry.store.ccsId]);
  const source = published.get(entry.store.ccsId)?.get(entry.row.file.name.toLowerCase()) ?? null;
  return json(200, certificateView(entry, fieldSelection(request.query.get('fields'), 'all'), source));
});

export const listStores = guarded('read', async ({ app }) => {
  const stores = await app.inventory.stores();
  return json(200, { stores: stores.map(storeView) }, { 'X-Total-Count': String(stores.length) });
});

export const getStore = guarded('read', async ({ app, request }) => {
  const store = await app.inventory.store(request.params.id ?? '');
  if (!store) throw notFound('id', 'Certificate store not found', 'StoreNotFound');
  return json(200, storeView(store));
});

// Literal routes first: the local host matches in order (Azure ranks literals first anyway).
defineHttp({
  name: 'listCertificateStores',
  route: 'certificates/stores',
  methods: ['GET'],
  handler: listStores,
});
defineHttp({
  name: 'getCertificateStore',
  route: 'certificates/stores/{id}',
  methods: ['GET'],
  handler: getStore,
});
defineHttp({
  name: 'listCertificates',
  route: 'certificates',
  methods: ['GET', 'HEAD'],
  handler: listCertificates,
});
defineHttp({ name: 'getCertificate', route: 'certificates/{id}', methods: ['GET'], handler: getCertificate });
