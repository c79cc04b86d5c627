/**
 * What each route's operation is, for the OpenAPI document: summary, tag, parameters beyond the
 * path, request body, and every status it answers with its body's schema. Keyed by the route's
 * function name (functions/route-table.ts), or `name:method` where one route serves two methods.
 */
import type { z } from 'zod';
import { EnableBodySchema, UpdateBodySchema } from '../../shared/api-schemas.js';
import { MAX_AUDIT_TOP } from '../http/audit.js';
import { ROLLOUT_OPERATION_METADATA } from './rollout-operations.js';
import {
  AuditLogSchema,
  CentralizedCertificatesListSchema,
  CentralizedCertificatesSchema,
  ErrorBodySchema,
  HostListSchema,
  OpenApiDocumentSchema,
  OperationSchema,
} from './response-schemas.js';
import {
  CertificateListSchema,
  CertificateSchema,
  StoreListSchema,
  StoreSchema,
} from './certificate-schemas.js';
import { COVERAGE_OPERATION_METADATA, FORCE } from './coverage-operations.js';
import { enrolmentOperations } from './enrolment-operations.js';
import { OPERATOR_OPERATIONS } from './operator-operations.js';
import { SOURCES_OPERATIONS } from './sources-operations.js';

export interface ResponseMetadata {
  description: string;
  body?: z.ZodType;
  headers?: Record<string, unknown>;
}

export interface OperationMetadata {
  summary: string;
  description?: string;
  tag: 'centralized-certificates' | 'operations' | 'certificates' | 'meta';
  /** Default: the route's name. */
  operationId?: string;
  parameters?: unknown[];
  requestBody?: z.ZodType;
  responses: Record<string, ResponseMetadata>;
}

const error = (description: string): ResponseMetadata => ({ description, body: ErrorBodySchema });

/** What any request can be answered with. */
const ANY = {
  '400': error('Invalid parameter; `name` is the field'),
  '401': error('No or invalid credentials'),
  '403': error(
    'Forbidden: a read-only caller that writes, a path outside the allowed locations, or a share identity outside the allow-list',
  ),
  '503': error(
    'A dependency is unavailable, or the service is misconfigured (`name: configuration`); retry after `Retry-After`',
  ),
};

/** What a request with a body can also be answered with. */
const WITH_BODY = {
  '413': error('The body is over 64 KiB'),
  '415': error('The body is not application/json'),
};

const accepted: ResponseMetadata = {
  description: 'Accepted: the operation runs; poll `Operation-Location`',
  body: OperationSchema,
  headers: { 'Operation-Location': { schema: { type: 'string' } } },
};
const notEnabled = error('CCS is not enabled for this id');
/** Identity abuse limits (issue 17): 403 IdentityNotAllowed is among ANY's 403s. */
const identityLimited = {
  '429': error('Too many identity changes for this ccs-id in the last hour; retry after `Retry-After`'),
};
const failedChange = {
  '409': error(
    'A conflicting change was committed first, or the hosts refused the change (Prefer: wait); `BoundNamesUncovered`: bound host names would lose their certificate (`host_names`, `hosts`; `?force=true` overrides)',
  ),
  '412': error('If-Match does not match the current ETag'),
};

const query = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const FIELDS = query('fields', '`*` for the full model, or a comma-separated list of fields');
const STORE_ID = query('store.id', 'Only the certificates of this store');
const TOTAL = { 'X-Total-Count': { schema: { type: 'integer' } } };

export const OPERATION_METADATA: Record<string, OperationMetadata> = {
  ...ROLLOUT_OPERATION_METADATA,
  ...COVERAGE_OPERATION_METADATA,
  ...enrolmentOperations({ error, ANY, WITH_BODY }),
  ...OPERATOR_OPERATIONS,
  ...SOURCES_OPERATIONS,
  listCentralizedCertificates: {
    summary: 'List the ccs-ids with CCS enabled',
    tag: 'centralized-certificates',
    responses: { '200': { description: 'Enabled ccs-ids', body: CentralizedCertificatesListSchema }, ...ANY },
  },
  getCentralizedCertificates: {
    summary: 'Read the desired state of a ccs-id and its fleet summary',
    tag: 'centralized-certificates',
    responses: {
      '200': {
        description: 'The desired state and fleet summary, with an ETag',
        body: CentralizedCertificatesSchema,
      },
      '404': notEnabled,
      ...ANY,
    },
  },
  enableCentralizedCertificates: {
    summary: 'Enable CCS on every host of a ccs-id',
    tag: 'centralized-certificates',
    parameters: [FORCE],
    requestBody: EnableBodySchema.meta({ id: 'EnableCentralizedCertificates' }),
    responses: {
      '200': { description: 'Prefer: wait, and every host applied it', body: CentralizedCertificatesSchema },
      '202': accepted,
      '404': error('A host cannot find the path (Prefer: wait)'),
      '409': error('Already enabled, or the hosts refused the change (Prefer: wait)'),
      ...identityLimited,
      ...WITH_BODY,
      ...ANY,
    },
  },
  updateCentralizedCertificates: {
    summary: 'Change the path, identity or private-key password of a ccs-id',
    tag: 'centralized-certificates',
    parameters: [FORCE],
    requestBody: UpdateBodySchema.meta({ id: 'UpdateCentralizedCertificates' }),
    responses: {
      '200': {
        description: 'Applied (Prefer: wait), or nothing changed',
        body: CentralizedCertificatesSchema,
      },
      '202': accepted,
      '404': notEnabled,
      ...failedChange,
      ...identityLimited,
      ...WITH_BODY,
      ...ANY,
    },
  },
  disableCentralizedCertificates: {
    summary: 'Disable CCS on every host of a ccs-id',
    tag: 'centralized-certificates',
    parameters: [FORCE],
    responses: {
      '202': accepted,
      '204': { description: 'Disabled (Prefer: wait), or it was not enabled' },
      ...failedChange,
      '409': error(
        'Sites still use CCS on the fleet (`SitesUseCcs`, `sites` lists them; `?force=true` overrides), or a conflicting change was committed first',
      ),
      ...ANY,
    },
  },
  listCentralizedCertificateHosts: {
    summary: "List a ccs-id's hosts and what each applied",
    tag: 'centralized-certificates',
    parameters: [
      query('status', '`pending`: only the hosts whose key waits for approval', {
        type: 'string',
        enum: ['pending'],
      }),
    ],
    responses: { '200': { description: 'Per-host applied state', body: HostListSchema }, ...ANY },
  },
  getOperation: {
    summary: 'Read a long-running operation',
    tag: 'operations',
    responses: {
      '200': { description: 'Operation status and per-host results', body: OperationSchema },
      '404': error('Unknown operation'),
      ...ANY,
    },
  },
  getAudit: {
    summary: 'Read the audit log',
    description: 'Every accepted change, newest first; secret fields as `{HIDDEN}`. Write role only.',
    tag: 'operations',
    parameters: [
      query('ccs_id', 'Only the changes of this ccs-id'),
      query('top', `How many entries (1-${MAX_AUDIT_TOP}, default 100)`, {
        type: 'integer',
        minimum: 1,
        maximum: MAX_AUDIT_TOP,
      }),
    ],
    responses: { '200': { description: 'The newest entries', body: AuditLogSchema }, ...ANY },
  },
  getOpenApi: {
    summary: 'Read this document',
    tag: 'meta',
    responses: {
      '200': { description: 'This OpenAPI document', body: OpenApiDocumentSchema },
      ...ANY,
    },
  },
  listCertificateStores: {
    summary: 'List the certificate stores (one per enabled ccs-id)',
    tag: 'certificates',
    responses: {
      '200': { description: 'One store per ccs-id with CCS enabled', body: StoreListSchema, headers: TOTAL },
      ...ANY,
    },
  },
  getCertificateStore: {
    summary: 'Read a certificate store and its inventory status',
    tag: 'certificates',
    responses: {
      '200': { description: 'The store and its inventory status', body: StoreSchema },
      '404': error('No store has this id (or CCS was disabled for its ccs-id)'),
      ...ANY,
    },
  },
  'listCertificates:get': {
    summary: 'List certificates',
    tag: 'certificates',
    parameters: [
      STORE_ID,
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
    responses: {
      '200': {
        description: 'The certificates (a slice of them with `Range: certificates=a-b`)',
        headers: {
          ...TOTAL,
          'Content-Range': { schema: { type: 'string', example: 'certificates 0-49/120' } },
        },
        body: CertificateListSchema,
      },
      '404': error('`store.id` names no store'),
      '416': error('Range not satisfiable'),
      ...ANY,
    },
  },
  'listCertificates:head': {
    summary: 'Count certificates',
    tag: 'certificates',
    operationId: 'countCertificates',
    parameters: [STORE_ID],
    responses: {
      '200': { description: 'No body; `X-Total-Count` is the number of certificates', headers: TOTAL },
      '404': { description: '`store.id` names no store' },
      '400': { description: 'Invalid parameter' },
      '401': { description: 'No or invalid credentials' },
      '403': { description: 'Forbidden' },
      '503': { description: 'A dependency is unavailable; retry after `Retry-After`' },
    },
  },
  getCertificate: {
    summary: 'Read one certificate',
    tag: 'certificates',
    parameters: [FIELDS],
    responses: {
      '200': { description: 'The full certificate model', body: CertificateSchema },
      '404': error('Certificate not found'),
      ...ANY,
    },
  },
};
