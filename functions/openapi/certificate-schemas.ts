/**
 * The certificates API's response bodies as zod schemas (functions/http/certificate-views.ts):
 * the OpenAPI document is generated from them and the tests parse real responses with them.
 * Every field but `id` and `_links` is optional in a certificate, because `fields=` selects them.
 */
import { z } from 'zod';
import { PROBLEM_CODES, STORE_NAME } from '../../shared/certificates/rules.js';

const Link = z.object({ href: z.string() });

export const StoreRefSchema = z.object({
  name: z.literal(STORE_NAME),
  id: z.string(),
  _links: z.object({ self: Link }),
});

export const ProblemSchema = z.object({ code: z.enum(PROBLEM_CODES), detail: z.string() });

export const CertificateSchema = z
  .object({
    alias: z.string().describe('The file name in the share, e.g. www.contoso.com.pfx'),
    id: z.string().describe('Opaque and stable: the same file keeps its id across renewals'),
    issued_by: z.string().nullable(),
    subject: z.string().nullable(),
    thumbprint: z.string().nullable(),
    signature_algorithm: z.string().nullable(),
    valid_from: z.string().nullable(),
    valid_to: z.string().nullable(),
    version: z.string().nullable(),
    intended_purposes: z.array(z.string()),
    private_key: z
      .object({
        exportable: z.boolean(),
        algorithm: z.string(),
        key_size: z.number().int().nullable(),
        curve: z.string().nullable(),
      })
      .nullable(),
    subject_alternative_names: z.array(z.string()),
    expires_in_days: z.number().int().nullable(),
    problems: z.array(ProblemSchema),
    store: StoreRefSchema,
    file: z.object({
      name: z.string(),
      size: z.number().int(),
      modified: z.string(),
      renamed_from: z.string().nullable(),
      first_seen: z.string(),
      scanned: z.string(),
    }),
    pfx: z
      .object({
        certificate_encryption: z.string(),
        key_encryption: z.string().nullable(),
        mac: z.string(),
        iterations: z.number().int(),
        certificates: z.number().int(),
      })
      .nullable(),
    source: z
      .object({
        key_vault_certificate: z.string(),
        version: z.string(),
        encryption: z.enum(['tripledes-sha1', 'aes256-sha256']),
      })
      .nullable()
      .describe(
        'The Key Vault certificate version the publisher wrote this file from; null for a file it did not write',
      ),
    _links: z.object({ self: Link }),
  })
  .partial()
  .required({ id: true, _links: true })
  .meta({
    id: 'Certificate',
    description: 'IIS Administration certificate model, plus expiry and problems.',
  });

export const CertificateListSchema = z
  .object({ certificates: z.array(CertificateSchema) })
  .meta({ id: 'CertificateList' });

export const StoreSchema = z
  .object({
    name: z.literal(STORE_NAME),
    id: z.string(),
    claims: z.array(z.literal('read')),
    is_windows_store: z.literal(false),
    ccs_id: z.string(),
    path: z.string().nullable(),
    inventory: z.object({
      status: z.enum(['current', 'scanning', 'failed', 'no_scanner']),
      scanner: z.string().nullable(),
      last_scan: z.string().nullable(),
      last_full_scan: z.string().nullable(),
      files: z.number().int().nullable(),
      error: z.object({ name: z.string(), code: z.string(), detail: z.string() }).nullable(),
    }),
    _links: z.object({ self: Link, certificates: Link, centralized_certificates: Link }),
  })
  .meta({ id: 'CertificateStore', description: 'One store per ccs-id with CCS enabled.' });

export const StoreListSchema = z
  .object({ stores: z.array(StoreSchema) })
  .meta({ id: 'CertificateStoreList' });
