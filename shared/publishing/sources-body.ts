/**
 * `PUT /api/webserver/centralized-certificates/{ccs-id}/sources`: the request body, validated at
 * the edge. Field names follow the API's snake_case; every rejection names its field in dotted
 * form (`certificates.3.name`), never repeating the value.
 *
 * Key Vault's rules (Azure Key Vault, "About keys, secrets, and certificates" → object names; and
 * resource tags): a certificate name is 1-127 letters, digits and dashes and compares
 * case-insensitively; a tag name is at most 512 characters, a value at most 256.
 */
import { z } from 'zod';
import { KeyVaultNameSchema } from './messages.js';
import { MAX_SOURCES } from './model.js';

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const TagText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters');

/** Read-only fields of a GET body that a PUT may send back unchanged (ignored). */
const ReadOnly = {
  ccs_id: z.unknown().optional(),
  resolved: z.unknown().optional(),
  publisher: z.unknown().optional(),
  _links: z.unknown().optional(),
};

export const SourcesBodySchema = z
  .strictObject({
    ...ReadOnly,
    certificates: z
      .array(
        z.strictObject({
          name: KeyVaultNameSchema,
          overwrite: z.boolean().optional(),
        }),
      )
      .max(MAX_SOURCES, `must list at most ${MAX_SOURCES} certificates`)
      .optional(),
    tag_selector: z
      .strictObject({
        name: TagText(512).min(1, 'must not be empty'),
        value: TagText(256),
        overwrite: z.boolean().optional(),
      })
      .nullable()
      .optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    (body.certificates ?? []).forEach((c, i) => {
      const key = c.name.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificates', i, 'name'],
          message: 'names a certificate listed before (Key Vault names compare case-insensitively)',
        });
      }
      seen.add(key);
    });
  });
export type SourcesBody = z.infer<typeof SourcesBodySchema>;
