/**
 * OpenAPI metadata of the enrolment routes (issue 17), spread into OPERATION_METADATA
 * (operations.ts). The shared response helpers are passed in, so this module does not import
 * operations.ts back.
 */
import type { z } from 'zod';
import { ApproveHostBodySchema, EnrolmentCodeBodySchema } from '../../shared/enrolment-api-schemas.js';
import { ApprovedHostSchema, EnrolmentCodeSchema } from './enrolment-schemas.js';

interface Response {
  description: string;
  body?: z.ZodType;
}

export interface MetadataParts {
  error: (description: string) => Response;
  ANY: Record<string, Response>;
  WITH_BODY: Record<string, Response>;
}

export function enrolmentOperations({ error, ANY, WITH_BODY }: MetadataParts) {
  return {
    createEnrolmentCode: {
      summary: 'Create a one-time enrolment code for a new host',
      description:
        'The code is returned once and stored only as a hash. Put it in the new host’s agent configuration (`enrolmentCode`): its first hello proves it without sending it, and the host is enrolled with the key it made. Single use; expires after `expires_in_minutes` (default 60, at most 1440). Write role; audited.',
      tag: 'centralized-certificates' as const,
      requestBody: EnrolmentCodeBodySchema.meta({ id: 'CreateEnrolmentCode' }),
      responses: {
        '201': { description: 'The code (shown this once)', body: EnrolmentCodeSchema },
        ...WITH_BODY,
        ...ANY,
      },
    },
    approveCentralizedCertificateHost: {
      summary: 'Approve the key a host waits with',
      description:
        'For a host listed by `GET …/hosts?status=pending`: send the thumbprint you compared with what `ccs-agent status` prints on the host. Its key is registered (replacing a rebuilt host’s previous key) and it is sent the current desired state. Write role; audited.',
      tag: 'centralized-certificates' as const,
      requestBody: ApproveHostBodySchema.meta({ id: 'ApproveHost' }),
      responses: {
        '200': { description: 'The host is enrolled with that key', body: ApprovedHostSchema },
        '404': error('No host of that name is waiting for approval'),
        '409': error(
          'The pending key has another thumbprint (it changed since you compared), or the enrolment changed meanwhile',
        ),
        ...WITH_BODY,
        ...ANY,
      },
    },
  };
}
