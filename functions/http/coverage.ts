/** `GET /api/webserver/centralized-certificates/{ccs-id}/coverage`: which share file serves each bound host name. */
import { defineHttp } from '../route-table.js';
import type { HttpRequest } from '@azure/functions';
import { invalid } from '../../shared/errors.js';
import { coverageView, type NameFilter } from './coverage-views.js';
import { guarded } from './guard.js';
import { json } from './respond.js';

/** `?status=covered|uncovered` (absent: every name); anything else is 400 `status`. */
function statusFilter(request: HttpRequest): NameFilter {
  const raw = request.query.get('status');
  if (raw === null) return null;
  if (raw === 'covered' || raw === 'uncovered') return raw;
  throw invalid('status', 'status must be covered or uncovered');
}

export const getCoverage = guarded('read', async ({ app, request }) => {
  const filter = statusFilter(request);
  return json(200, coverageView(await app.coverage.coverage(request.params.ccsId ?? ''), filter));
});

defineHttp({
  name: 'getCentralizedCertificatesCoverage',
  route: 'webserver/centralized-certificates/{ccsId}/coverage',
  methods: ['GET'],
  handler: getCoverage,
});
