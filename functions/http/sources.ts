/**
 * `GET/PUT /api/webserver/centralized-certificates/{ccs-id}/sources`: which Key Vault certificates
 * the elected host publishes to the ccs-id's share (shared/services/publishing-sources.ts), and
 * what the last look at Key Vault and the last publish run found. The body of a PUT is at most
 * 256 KiB (1,000 sources of 127-character names do not fit 64 KiB).
 */
import { parseBody } from '../../shared/api-schemas.js';
import { assertCcsId } from '../../shared/names.js';
import { SourcesBodySchema } from '../../shared/publishing/sources-body.js';
import { sourcesTag, type SourcesSnapshot } from '../../shared/services/publishing-sources.js';
import { defineHttp } from '../route-table.js';
import { guarded, type Call } from './guard.js';
import { readJsonBody } from './request-body.js';
import { json } from './respond.js';
import { sourcesView } from './sources-view.js';

export const MAX_SOURCES_BODY_BYTES = 256 * 1024;

const ROUTE = 'webserver/centralized-certificates/{ccsId}/sources';

const idOf = (call: Call): string => assertCcsId(call.request.params.ccsId ?? '');

function respond(snapshot: SourcesSnapshot) {
  const tag = sourcesTag(snapshot.etag);
  return json(200, sourcesView(snapshot), tag ? { ETag: tag } : {});
}

export const getSources = guarded('read', async (call) =>
  respond(await call.app.publishing.sources.get(idOf(call))),
);

export const putSources = guarded('write', async (call) => {
  const id = idOf(call);
  const body = parseBody(SourcesBodySchema, await readJsonBody(call.request, MAX_SOURCES_BODY_BYTES));
  const snapshot = await call.app.publishing.sources.put(id, body, call.request.headers.get('if-match'), {
    id: call.callerId,
  });
  return respond(snapshot);
});

defineHttp({ name: 'getPublishingSources', route: ROUTE, methods: ['GET'], handler: getSources });
defineHttp({ name: 'putPublishingSources', route: ROUTE, methods: ['PUT'], handler: putSources });
