/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas that
 * validate requests (shared/api-schemas.ts) and describe responses (response-schemas.ts).
 */
import { z } from 'zod';
import { EnableBodySchema, UpdateBodySchema } from '../../shared/api-schemas.js';
import { httpRoutes, type HttpRoute } from '../route-table.js';
import {
  CentralizedCertificatesListSchema,
  CentralizedCertificatesSchema,
  ErrorBodySchema,
  HostListSchema,
  OperationSchema,
} from './response-schemas.js';
import {
  CertificateListSchema,
  CertificateSchema,
  StoreListSchema,
  StoreSchema,
} from './certificate-schemas.js';

const schema = (s: z.ZodType): unknown =>
  z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'output' });
const content = (s: z.ZodType) => ({ 'application/json': { schema: schema(s) } });
const error = (description: string) => ({ description, content: content(ErrorBodySchema) });

const COMMON_ERRORS = {
  '400': error('Invalid parameter; `name` is the field'),
  '401': error('No or invalid credentials'),
  '403': error('Forbidden: read-only caller, or a path outside the allowed locations'),
};

const accepted = { description: 'Accepted; poll Operation-Location', content: content(OperationSchema) };

/** What each (route, method) answers, keyed by the route's function name. */
const RESPONSES: Record<string, Record<string, unknown>> = {
  listCentralizedCertificates: {
    '200': { description: 'Enabled ccs-ids', content: content(CentralizedCertificatesListSchema) },
  },
  getCentralizedCertificates: {
    '200': {
      description: 'The desired state and fleet summary',
      content: content(CentralizedCertificatesSchema),
    },
    '404': error('CCS is not enabled for this id'),
  },
  enableCentralizedCertificates: {
    '200': {
      description: 'Prefer: wait and every host applied',
      content: content(CentralizedCertificatesSchema),
    },
    '202': accepted,
    '409': error('Already enabled'),
    '413': error('Body over 64 KiB'),
    '415': error('Body is not JSON'),
  },
  updateCentralizedCertificates: {
    '200': {
      description: 'Applied (Prefer: wait) or nothing changed',
      content: content(CentralizedCertificatesSchema),
    },
    '202': accepted,
    '404': error('CCS is not enabled for this id'),
    '412': error('If-Match does not match the current ETag'),
    '413': error('Body over 64 KiB'),
    '415': error('Body is not JSON'),
  },
  disableCentralizedCertificates: {
    '202': accepted,
    '204': { description: 'Disabled (or was not enabled)' },
    '412': error('If-Match does not match the current ETag'),
  },
  listCentralizedCertificateHosts: {
    '200': { description: 'Per-host applied state', content: content(HostListSchema) },
  },
  getOperation: {
    '200': { description: 'Operation status', content: content(OperationSchema) },
    '404': error('Unknown operation'),
  },
  getOpenApi: { '200': { description: 'This document' } },
  getAudit: {
    '200': { description: 'Every accepted change, newest first; secret fields as {HIDDEN} (write role)' },
  },
  listCertificateStores: {
    '200': { description: 'One store per ccs-id with CCS enabled', content: content(StoreListSchema) },
  },
  getCertificateStore: {
    '200': { description: 'The store and its inventory status', content: content(StoreSchema) },
    '404': error('No store has this id (or CCS was disabled for its ccs-id)'),
  },
  listCertificates: {
    '200': {
      description: 'The certificates (a slice of them with `Range: certificates=a-b`)',
      headers: {
        'X-Total-Count': { schema: { type: 'integer' } },
        'Content-Range': { schema: { type: 'string', example: 'certificates 0-49/120' } },
      },
      content: content(CertificateListSchema),
    },
    '404': error('`store.id` names no store'),
    '416': error('Range not satisfiable'),
  },
  'listCertificates:head': {
    '200': {
      description: 'No body; `X-Total-Count` is the number of certificates',
      headers: { 'X-Total-Count': { schema: { type: 'integer' } } },
    },
    '404': { description: '`store.id` names no store' },
  },
  getCertificate: {
    '200': { description: 'The full certificate model', content: content(CertificateSchema) },
    '404': error('Certificate not found'),
  },
};

const query = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const FIELDS = query('fields', '`*` for the full model, or a comma-separated list of fields');

/** Query and header parameters beyond the path, keyed by the route's function name. */
const PARAMETERS: Record<string, unknown[]> = {
  listCertificates: [
    query('store.id', 'Only the certificates of this store'),
    FIELDS,
    query('expiring_within', 'Only certificates expiring within this many days (expired ones included)', {
      type: 'integer',
      minimum: 0,
    }),
    {
      name: 'Range',
      in: 'header',
      required: false,
      schema: { type: 'string', example: 'certificates=0-49' },
    },
  ],
  getCertificate: [FIELDS],
};

const BODIES: Record<string, z.ZodType> = {
  enableCentralizedCertificates: EnableBodySchema,
  updateCentralizedCertificates: UpdateBodySchema,
};

function operation(route: HttpRoute, method: string) {
  const params = [...route.route.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const body = BODIES[route.name];
  const writes = method !== 'get' && method !== 'head';
  return {
    operationId: route.name,
    parameters: [
      ...params,
      ...(writes
        ? [{ name: 'Prefer', in: 'header', required: false, schema: { type: 'string', example: 'wait=30' } }]
        : []),
      ...(method === 'patch' || method === 'delete'
        ? [{ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } }]
        : []),
      ...(PARAMETERS[route.name] ?? []),
    ],
    ...(body ? { requestBody: { required: true, content: content(body) } } : {}),
    responses: {
      ...(RESPONSES[`${route.name}:${method}`] ?? RESPONSES[route.name] ?? { '200': { description: 'OK' } }),
      ...COMMON_ERRORS,
    },
  };
}

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of httpRoutes) {
    const path = `/api/${route.route}`;
    for (const method of route.methods) {
      (paths[path] ??= {})[method.toLowerCase()] = operation(route, method.toLowerCase());
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Central Certificate Store for IIS web farms',
      version: '1.0.0',
      description: 'The IIS Administration `centralized-certificates` resource, fleet-wide.',
    },
    servers: [{ url: '/' }],
    security: [{ accessToken: [] }, { bearer: [] }],
    components: {
      securitySchemes: {
        accessToken: { type: 'apiKey', in: 'header', name: 'Access-Token', description: '`Bearer <token>`' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or access token' },
      },
    },
    paths,
  };
}
