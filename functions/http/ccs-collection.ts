/**
 * The collection route `/api/webserver/centralized-certificates`, answered as IIS
 * Administration's CentralCertsController answers it (route `…/{id?}`) for clients that send no
 * id: GET is the default ccs-id's resource (CCS_DEFAULT_ID) with `Location` naming its `{id}`
 * URL, or the seed's 404; POST enables the default ccs-id. The same handlers serve the `{ccsId}`
 * route, so both answer alike; the fleet list of every ccs-id is `GET /api/ccs-ids`.
 */
import { defineHttp } from '../route-table.js';
import { enableCcs, getCcs } from './centralized-certificates.js';

export const COLLECTION_ROUTE = 'webserver/centralized-certificates';

defineHttp({
  name: 'getDefaultCentralizedCertificates',
  route: COLLECTION_ROUTE,
  methods: ['GET'],
  handler: getCcs,
});
defineHttp({
  name: 'enableDefaultCentralizedCertificates',
  route: COLLECTION_ROUTE,
  methods: ['POST'],
  handler: enableCcs,
});
