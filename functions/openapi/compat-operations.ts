/**
 * The OpenAPI metadata of the routes IIS Administration clients start from (issue 20): the API
 * root, the web server, and the collection route. The collection's GET and POST are the `{ccsId}`
 * route's GET and POST on the default ccs-id, so their metadata is derived from those entries
 * (whatever those gain, these gain too).
 */
import { ApiRootSchema, WebServerSchema } from './discovery-schemas.js';
import { OPERATION_METADATA, type OperationMetadata, type ResponseMetadata } from './operations.js';

const byId = OPERATION_METADATA.getCentralizedCertificates!;
const enableById = OPERATION_METADATA.enableCentralizedCertificates!;

/** What any authenticated read can be answered with besides success (400, 401, 403, 503). */
const refusals: Record<string, ResponseMetadata> = Object.fromEntries(
  Object.entries(byId.responses).filter(([status]) => !['200', '404'].includes(status)),
);

const LOCATION = {
  Location: {
    description: "The default ccs-id's own URL, `/api/webserver/centralized-certificates/{ccs-id}`",
    schema: { type: 'string' },
  },
};

/** The `{ccsId}` route's responses, its 200 also naming the resource's own URL (the handler sets it). */
const withLocation = (responses: Record<string, ResponseMetadata>): Record<string, ResponseMetadata> => ({
  ...responses,
  '200': { ...responses['200']!, headers: { ...responses['200']!.headers, ...LOCATION } },
});

export const COMPAT_OPERATION_METADATA: Record<string, OperationMetadata> = {
  getApiRoot: {
    summary: 'The API root: links to every resource',
    description: 'IIS Administration clients start here (`GET /api`) and follow `_links`.',
    tag: 'meta',
    responses: { '200': { description: 'The links', body: ApiRootSchema }, ...refusals },
  },
  getWebServer: {
    summary: "The web servers: links to the default ccs-id's CCS resource and to the certificates",
    tag: 'meta',
    responses: { '200': { description: 'The links', body: WebServerSchema }, ...refusals },
  },
  getDefaultCentralizedCertificates: {
    ...byId,
    summary: 'Read the default ccs-id (CCS_DEFAULT_ID), as IIS Administration clients do',
    description:
      "The collection route answers with the default ccs-id's resource, and `Location` names its own URL (IIS Administration answers `209` here; this API `200`). The list of every ccs-id is `GET /api/ccs-ids`.",
    responses: withLocation(byId.responses),
  },
  enableDefaultCentralizedCertificates: {
    ...enableById,
    summary: 'Enable CCS on the default ccs-id (CCS_DEFAULT_ID), as IIS Administration clients do',
    responses: withLocation(enableById.responses),
  },
};
