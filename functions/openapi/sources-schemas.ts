/** The response body of the publishing sources route (functions/http/sources-view.ts). */
import { z } from 'zod';

const Link = z.object({ href: z.string() });
const HostErrorBody = z.object({
  name: z.string(),
  code: z.string(),
  detail: z.string(),
  status: z.number().int(),
  hostNames: z.array(z.string()).optional(),
});

export const PublishingSourcesSchema = z
  .object({
    ccs_id: z.string(),
    certificates: z.array(z.object({ name: z.string(), overwrite: z.boolean() })),
    tag_selector: z.object({ name: z.string(), value: z.string(), overwrite: z.boolean() }).nullable(),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
    resolved: z.array(
      z.object({
        name: z.string(),
        via: z.enum(['name', 'tag']),
        version: z.string().nullable(),
        thumbprint: z.string().nullable(),
        format: z.enum(['pfx', 'pem']),
        problem: z
          .object({ code: z.enum(['not_found', 'disabled', 'not_readable']), detail: z.string() })
          .nullable(),
        files: z.array(z.string()).describe('The share files the publisher wrote for it'),
      }),
    ),
    publisher: z.object({
      host: z.string().nullable().describe('The elected host that writes the share'),
      run: z.number().int(),
      reported_run: z.number().int(),
      requested_at: z.string().nullable(),
      reported_at: z.string().nullable(),
      encryption: z.enum(['tripledes-sha1', 'aes256-sha256']).nullable(),
      files: z.number().int(),
      counts: z
        .object({
          written: z.number().int(),
          unchanged: z.number().int(),
          removed: z.number().int(),
          keptChanged: z.number().int(),
          tempFilesRemoved: z.number().int(),
          skippedNames: z.number().int(),
        })
        .nullable(),
      last_error: HostErrorBody.nullable(),
      key_vault_error: z.object({ code: z.string(), detail: z.string() }).nullable(),
      refused: z.array(
        z.object({
          source: z.string(),
          version: z.string(),
          code: z.string(),
          detail: z.string(),
          files: z.array(z.string()),
        }),
      ),
      rotating: z.boolean(),
    }),
    _links: z.object({ self: Link, resource: Link }),
  })
  .meta({ id: 'PublishingSources' });
