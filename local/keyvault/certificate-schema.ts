/**
 * How the local Key Vault keeps a certificate (in memory and in its JSON data file). The policy
 * is kept in Key Vault's own wire shape (snake_case, REST API 7.x / 2025-07-01), because that is
 * all anyone ever reads of it. The PFX or PEM of a version is not here: it is the value of the
 * managed secret of the same name and version (vault.ts).
 */
import { z } from 'zod';

const Attributes = z.object({
  enabled: z.boolean(),
  nbf: z.number().int().optional(),
  exp: z.number().int().optional(),
  created: z.number().int(),
  updated: z.number().int(),
});

const Policy = z.object({
  key_props: z.object({
    exportable: z.boolean(),
    kty: z.string(),
    key_size: z.number().int().optional(),
    crv: z.string().optional(),
    reuse_key: z.boolean(),
  }),
  secret_props: z.object({ contentType: z.string() }),
  x509_props: z.object({
    subject: z.string(),
    sans: z.record(z.string(), z.array(z.string())),
    ekus: z.array(z.string()),
    key_usage: z.array(z.string()),
    validity_months: z.number().int(),
    basic_constraints: z.object({ ca: z.boolean() }),
  }),
  lifetime_actions: z.array(z.unknown()),
  issuer: z.object({
    name: z.string(),
    cty: z.string().optional(),
    cert_transparency: z.boolean().optional(),
  }),
  attributes: z.object({ enabled: z.boolean(), created: z.number().int(), updated: z.number().int() }),
});

const Version = z.object({
  version: z.string(),
  /** The certificate, DER, base64 (Key Vault's `cer`). */
  cer: z.string(),
  attributes: Attributes,
  tags: z.record(z.string(), z.string()).optional(),
});

const Operation = z.object({
  requestId: z.string(),
  issuer: z.string(),
  /** The certificate request, DER, base64. */
  csr: z.string(),
  status: z.enum(['inProgress', 'completed', 'failed', 'cancelled']),
});

export const CertificateSchema = z.object({
  name: z.string(),
  versions: z.array(Version).min(1),
  policy: Policy,
  /** The last `create` operation, as `GET /certificates/{name}/pending` reports it. */
  operation: Operation.optional(),
  deleted: z.object({ deletedDate: z.number().int(), scheduledPurgeDate: z.number().int() }).optional(),
});

export type StoredCertificate = z.infer<typeof CertificateSchema>;
export type StoredCertificateVersion = z.infer<typeof Version>;
export type StoredPolicy = z.infer<typeof Policy>;
export type StoredOperation = z.infer<typeof Operation>;
