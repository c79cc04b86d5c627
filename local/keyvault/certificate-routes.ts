/**
 * The Key Vault certificates REST surface (paths and operation ids of the REST API 2025-07-01,
 * which @azure/keyvault-certificates 4.10.3 calls from `api/operations.js`): what each method and
 * path does to the vault's certificates. Resolved by ./routes.ts with the secret routes, so the
 * challenge flow, api-version check, faults, body limits and error bodies are the same.
 */
import {
  certificateBundle,
  certificateItem,
  deletedCertificateBundle,
  deletedCertificateItem,
  operationBody,
  parseCreateBody,
  parseImportBody,
  parsePolicyBody,
  parseUpdateBody,
  policyBody,
} from './certificate-wire.js';
import { ok, page } from './paging.js';
import type { RequestContext, RouteTable } from './route-types.js';

export type CertificateOperationId =
  | 'importCertificate'
  | 'createCertificate'
  | 'getCertificate'
  | 'getCertificates'
  | 'getCertificateVersions'
  | 'getCertificatePolicy'
  | 'updateCertificatePolicy'
  | 'updateCertificate'
  | 'getCertificateOperation'
  | 'deleteCertificate'
  | 'getDeletedCertificate'
  | 'getDeletedCertificates'
  | 'purgeDeletedCertificate'
  | 'recoverDeletedCertificate';

const getCertificate = {
  operation: 'getCertificate',
  takesBody: false,
  run: (ctx: RequestContext) => {
    const { cert, version } = ctx.certificates.get(ctx.name, ctx.version);
    return ok(certificateBundle(ctx.base, cert, version));
  },
} as const;

const updateCertificate = {
  operation: 'updateCertificate',
  takesBody: true,
  run: async (ctx: RequestContext) => {
    const { cert, version } = await ctx.certificates.update(ctx.name, ctx.version, parseUpdateBody(ctx.body));
    return ok(certificateBundle(ctx.base, cert, version));
  },
} as const;

export const certificateRoutes: RouteTable<CertificateOperationId> = {
  certificates: {
    GET: {
      operation: 'getCertificates',
      takesBody: false,
      run: (ctx) =>
        page(
          ctx.certificates.list().map((c) => certificateItem(ctx.base, c)),
          ctx,
          '/certificates',
        ),
    },
  },
  'certificates/{name}': {
    // `getCertificate(name)` asks for `/certificates/{name}/` (an empty version): the latest.
    GET: getCertificate,
    PATCH: updateCertificate,
    DELETE: {
      operation: 'deleteCertificate',
      takesBody: false,
      run: async (ctx) => ok(deletedCertificateBundle(ctx.base, await ctx.certificates.softDelete(ctx.name))),
    },
  },
  'certificates/{name}/{version}': { GET: getCertificate, PATCH: updateCertificate },
  'certificates/{name}/import': {
    POST: {
      operation: 'importCertificate',
      takesBody: true,
      run: async (ctx) => {
        const cert = await ctx.certificates.importCertificate(ctx.name, parseImportBody(ctx.body));
        return ok(certificateBundle(ctx.base, cert));
      },
    },
  },
  'certificates/{name}/create': {
    POST: {
      operation: 'createCertificate',
      takesBody: true,
      run: async (ctx) => {
        const { cert, operation } = await ctx.certificates.createCertificate(
          ctx.name,
          parseCreateBody(ctx.body),
        );
        // The real service answers 202 with the operation still in progress, a Location to poll
        // and Retry-After (recording `can_get_a_certificates_secret_in_pkcs_12_format`); here the
        // certificate already exists, so the first poll reads `completed`.
        const apiVersion = encodeURIComponent(ctx.query.get('api-version') ?? '');
        return {
          status: 202,
          body: operationBody(ctx.base, cert, { ...operation, status: 'inProgress' }),
          headers: {
            location: `${ctx.base}/certificates/${cert.name}/pending?api-version=${apiVersion}&request_id=${operation.requestId}`,
            'retry-after': '10',
          },
        };
      },
    },
  },
  'certificates/{name}/pending': {
    GET: {
      operation: 'getCertificateOperation',
      takesBody: false,
      run: (ctx) => {
        const { cert, operation } = ctx.certificates.operation(ctx.name);
        return ok(operationBody(ctx.base, cert, operation));
      },
    },
  },
  'certificates/{name}/versions': {
    GET: {
      operation: 'getCertificateVersions',
      takesBody: false,
      run: (ctx) => {
        const cert = ctx.certificates.versions(ctx.name);
        const items = cert.versions.map((v) => certificateItem(ctx.base, cert, v));
        return page(items, ctx, `/certificates/${cert.name}/versions`);
      },
    },
  },
  'certificates/{name}/policy': {
    GET: {
      operation: 'getCertificatePolicy',
      takesBody: false,
      run: (ctx) => ok(policyBody(ctx.base, ctx.certificates.versions(ctx.name))),
    },
    PATCH: {
      operation: 'updateCertificatePolicy',
      takesBody: true,
      run: async (ctx) =>
        ok(policyBody(ctx.base, await ctx.certificates.updatePolicy(ctx.name, parsePolicyBody(ctx.body)))),
    },
  },
  deletedcertificates: {
    GET: {
      operation: 'getDeletedCertificates',
      takesBody: false,
      run: (ctx) =>
        page(
          ctx.certificates.listDeleted().map((c) => deletedCertificateItem(ctx.base, c)),
          ctx,
          '/deletedcertificates',
        ),
    },
  },
  'deletedcertificates/{name}': {
    GET: {
      operation: 'getDeletedCertificate',
      takesBody: false,
      run: (ctx) => ok(deletedCertificateBundle(ctx.base, ctx.certificates.getDeleted(ctx.name))),
    },
    DELETE: {
      operation: 'purgeDeletedCertificate',
      takesBody: false,
      run: async (ctx) => {
        await ctx.certificates.purge(ctx.name);
        return { status: 204 };
      },
    },
  },
  'deletedcertificates/{name}/recover': {
    POST: {
      operation: 'recoverDeletedCertificate',
      takesBody: false,
      run: async (ctx) => ok(certificateBundle(ctx.base, await ctx.certificates.recover(ctx.name))),
    },
  },
};
