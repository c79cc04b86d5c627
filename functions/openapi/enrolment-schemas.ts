/** Response bodies of the enrolment routes (issue 17); see response-schemas.ts for the others. */
import { z } from 'zod';

const Link = z.object({ href: z.string() });

export const EnrolmentCodeSchema = z
  .object({
    id: z.string().describe('Names the code in the audit log; not the code'),
    ccs_id: z.string(),
    code: z
      .string()
      .describe(
        'The one-time code: shown this once, stored only as a hash. Put it in the new host’s agent configuration (`enrolmentCode`)',
      ),
    expires: z.string().describe('When the code stops working (ISO 8601); a code works once'),
    _links: z.object({ resource: Link, hosts: Link }),
  })
  .meta({ id: 'EnrolmentCode', description: 'A one-time enrolment code for one new host of a ccs-id.' });

/** How far the API trusts a host's key (shared/services/enrolment-service.ts). */
export const HostEnrolmentSchema = z
  .object({
    status: z
      .enum(['enrolled', 'pending', 'unregistered'])
      .describe(
        '`enrolled`: its reports are folded; `pending`: a key waits for approval (a new or rebuilt host); `unregistered`: known from before enrolment existed, no key yet',
      ),
    thumbprint: z.string().nullable().describe('The registered key’s RFC 7638 thumbprint'),
    pending_thumbprint: z
      .string()
      .nullable()
      .describe(
        'The thumbprint of the key waiting for approval: compare it with `ccs-agent status` on the host',
      ),
    enrolled: z.string().nullable(),
    enrolled_by: z.string().nullable().describe('`code:<code id>` or `approval:<caller>`'),
    first_seen: z.string().nullable().describe('When the pending key was first presented'),
  })
  .meta({ id: 'HostEnrolment' });

export const ApprovedHostSchema = z
  .object({
    name: z.string(),
    ccs_id: z.string(),
    enrolment: HostEnrolmentSchema,
    _links: z.object({ hosts: Link }),
  })
  .meta({ id: 'ApprovedHost' });
