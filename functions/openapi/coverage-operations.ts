/** OpenAPI metadata of issue 13's routes and parameters (spread into OPERATION_METADATA). */
import { ErrorBodySchema } from './response-schemas.js';
import { CoverageSchema } from './coverage-schemas.js';

/** `?force=true` on POST, PATCH and DELETE. */
export const FORCE = {
  name: 'force',
  in: 'query',
  required: false,
  description:
    '`true`: make the change although bound sites lose their certificates (the bound-names check of preflight, and the sites check of DELETE, are skipped). Recorded in the audit log.',
  schema: { type: 'boolean', default: false },
};

/** Typed where it is spread (operations.ts: OperationMetadata), which this module must not import. */
export const COVERAGE_OPERATION_METADATA = {
  getCentralizedCertificatesCoverage: {
    summary: 'Which share file serves each CCS-bound host name of a ccs-id',
    description:
      "For every host name a CCS binding of the fleet names: the file IIS would serve it from (`<host>.pfx`, else `_.<parent>.pfx`), that certificate's id, expiry and problems, and which hosts and sites bind it; bound names without a usable file (`uncovered`); files no binding uses.",
    tag: 'centralized-certificates' as const,
    parameters: [
      {
        name: 'status',
        in: 'query',
        required: false,
        description: 'Only the `covered` or only the `uncovered` names',
        schema: { type: 'string', enum: ['covered', 'uncovered'] },
      },
    ],
    responses: {
      '200': { description: 'Coverage of the bound host names', body: CoverageSchema },
      '404': { description: 'CCS is not enabled for this id', body: ErrorBodySchema },
      '400': { description: 'Invalid parameter; `name` is the field', body: ErrorBodySchema },
      '401': { description: 'No or invalid credentials', body: ErrorBodySchema },
      '403': { description: 'Forbidden', body: ErrorBodySchema },
      '503': { description: 'A dependency is unavailable; retry after `Retry-After`', body: ErrorBodySchema },
    },
  },
};
