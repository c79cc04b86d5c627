/**
 * Request bodies of the enrolment routes (issue 17), validated at the edge like every body
 * (shared/api-schemas.ts): strict objects, each rejection naming its field.
 */
import { z } from 'zod';
import { CODE_TTL_MINUTES } from './enrolment.js';

/** POST …/{ccs-id}/enrolment-codes: a body is required (`{}` takes the defaults). */
export const EnrolmentCodeBodySchema = z.strictObject({
  expires_in_minutes: z
    .number()
    .int('must be a whole number of minutes')
    .min(CODE_TTL_MINUTES.min, `must be at least ${CODE_TTL_MINUTES.min}`)
    .max(CODE_TTL_MINUTES.max, `must be at most ${CODE_TTL_MINUTES.max} (a day)`)
    .optional(),
});

/** An RFC 7638 JWK thumbprint (SHA-256, base64url): what `ccs-agent status` prints as `hostKey`. */
export const ThumbprintSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be the 43-character key thumbprint `ccs-agent status` prints');

/** POST …/hosts/{name}/approve: the thumbprint the approver compared on the host. */
export const ApproveHostBodySchema = z.strictObject({ thumbprint: ThumbprintSchema });
