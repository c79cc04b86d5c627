/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas that
 * validate requests (shared/api-schemas.ts) and describe responses (response-schemas.ts,
 * certificate-schemas.ts). Every named schema is a component (`#/components/schemas/…`); the
 * document passes `redocly lint` with the recommended rules (test/integration/openapi.test.ts)
 * and every response the tests receive is validated against it (test/support/openapi-validator.ts).
 */
import type { z } from 'zod';
import { documentedPath, httpRoutes, type HttpRoute } from '../route-table.js';
import { OPERATION_METADATA, type OperationMetadata } from './operations.js';
import { COMPAT_OPERATION_METADATA } from './compat-operations.js';
import { collectComponents, type JsonSchema } from './components.js';

/** Every route's metadata; the compatibility routes' is derived from the `{ccsId}` routes' (compat-operations.ts). */
const METADATA: Record<string, OperationMetadata> = { ...OPERATION_METADATA, ...COMPAT_OPERATION_METADATA };

/** Parameters every write takes. */
const PREFER = {
  name: 'Prefer',
  in: 'header',
  required: false,
  description: '`wait=N` (N ≤ 60): answer once the operation ends, if it ends within N seconds',
  schema: { type: 'string', example: 'wait=30' },
};
const IF_MATCH = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'The ETag of a GET: 412 when the resource changed since',
  schema: { type: 'string' },
};

function operation(
  route: HttpRoute,
  method: string,
  meta: OperationMetadata,
  schema: (s: z.ZodType, io: 'input' | 'output') => JsonSchema,
) {
  const content = (s: z.ZodType) => ({ 'application/json': { schema: schema(s, 'output') } });
  const params = [...documentedPath(route.route).matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const writes = method !== 'get' && method !== 'head';
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(meta.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.body ? { content: content(response.body) } : {}),
    };
  }
  return {
    operationId: meta.operationId ?? route.name,
    summary: meta.summary,
    ...(meta.description ? { description: meta.description } : {}),
    tags: [meta.tag],
    ...(route.anonymous ? { security: [] } : {}),
    parameters: [
      ...params,
      ...(writes ? [PREFER] : []),
      ...(method === 'patch' || method === 'delete' ? [IF_MATCH] : []),
      ...(meta.parameters ?? []),
    ],
    ...(meta.requestBody
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schema(meta.requestBody, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export function buildOpenApiDocument(): Record<string, unknown> {
  const components = collectComponents();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of httpRoutes.filter((r) => r.openApi !== false)) {
    const path = documentedPath(route.route);
    for (const method of route.methods.map((m) => m.toLowerCase())) {
      const meta = METADATA[`${route.name}:${method}`] ?? METADATA[route.name];
      if (!meta) throw new Error(`the OpenAPI document does not describe ${route.name} (${method})`);
      (paths[path] ??= {})[method] = operation(route, method, meta, (s, io) => components.schema(s, io));
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Central Certificate Store for IIS web farms',
      version: '1.0.0',
      description: 'The IIS Administration `centralized-certificates` resource, fleet-wide.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/' }],
    security: [{ accessToken: [] }, { bearer: [] }],
    tags: [
      { name: 'centralized-certificates', description: 'CCS on the whole fleet: desired state and hosts' },
      { name: 'operations', description: 'Long-running operations and the audit log' },
      { name: 'certificates', description: "The certificates of each enabled ccs-id's share" },
      {
        name: 'meta',
        description:
          'Discovery (the API root, the web server), this document, the caller, and how to sign in',
      },
    ],
    paths,
    components: {
      schemas: components.schemas(),
      securitySchemes: {
        accessToken: { type: 'apiKey', in: 'header', name: 'Access-Token', description: '`Bearer <token>`' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or access token' },
      },
    },
  };
}
