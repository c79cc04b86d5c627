/** `GET /api/webserver/centralized-certificates/{ccs-id}/coverage`: which share file serves each bound host name. */
import { defineHttp } from '../route-table.js';
import { coverageView } from './coverage-views.js';
import { guarded } from './guard.js';
import { json } from './respond.js';

export const getCoverage = guarded('read', async ({ app, request }) =>
  json(200, coverageView(await app.coverage.coverage(request.params.ccsId ?? ''))),
);

defineHttp({
  name: 'getCentralizedCertificatesCoverage',
  route: 'webserver/centralized-certificates/{ccsId}/coverage',
  methods: ['GET'],
  handler: getCoverage,
});
