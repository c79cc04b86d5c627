/** `/api/openapi.json`: the generated OpenAPI 3.1 document (authenticated like every endpoint). */
import { buildOpenApiDocument } from '../openapi/document.js';
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';

let cached: Record<string, unknown> | undefined;

export const getOpenApi = guarded('read', () => {
  cached ??= buildOpenApiDocument();
  return Promise.resolve(json(200, cached));
});

defineHttp({ name: 'getOpenApi', route: 'openapi.json', methods: ['GET'], handler: getOpenApi });
