/**
 * What an agent reports about one file of the share: metadata only. Never key material, never
 * the PFX bytes, never a password — the certificate's public fields, how the file is protected
 * and what went wrong reading it. The same schema checks the report on the agent (before it is
 * sent) and on the API (before it is folded).
 */
import { z } from 'zod';

/** Bounds that keep one file's entry far below a queue message (64 KiB, base64). */
export const LIMITS = {
  text: 1024,
  alternativeNames: 100,
  alternativeName: 270,
  purposes: 32,
  fileName: 255,
} as const;

const text = z.string().max(LIMITS.text);

export const CertificateInfoSchema = z.object({
  thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
  subject: text,
  issuer: text,
  commonName: text.nullable(),
  serialNumber: z.string().max(128),
  signatureAlgorithm: z.string().max(128),
  validFrom: z.string().max(32),
  validTo: z.string().max(32),
  version: z.number().int().min(1).max(3),
  intendedPurposes: z.array(z.string().max(128)).max(LIMITS.purposes),
  /** `DNS Name=…`, `IP Address=…`: see shared/certificates/x509.ts. */
  subjectAlternativeNames: z.array(z.string().max(LIMITS.alternativeName)).max(LIMITS.alternativeNames),
  /** True when the list was cut at LIMITS.alternativeNames. */
  alternativeNamesTruncated: z.boolean(),
  publicKey: z.object({
    algorithm: z.string().max(64),
    size: z.number().int().nullable(),
    curve: z.string().max(64).nullable(),
  }),
});
export type CertificateInfo = z.infer<typeof CertificateInfoSchema>;

/** How the PFX is protected (algorithm names from shared/pkcs12), and what it holds. */
export const PfxInfoSchema = z.object({
  certificateEncryption: z.string().max(128),
  keyEncryption: z.string().max(128).nullable(),
  mac: z.string().max(32),
  iterations: z.number().int().nonnegative(),
  certificates: z.number().int().nonnegative(),
  hasPrivateKey: z.boolean(),
});
export type PfxInfo = z.infer<typeof PfxInfoSchema>;

/** Why a file could not be (fully) read. */
export const FILE_ERROR_CODES = ['wrong_password', 'unreadable', 'unsupported', 'no_certificate'] as const;
export type FileErrorCode = (typeof FILE_ERROR_CODES)[number];

export const FileErrorSchema = z.object({
  code: z.enum(FILE_ERROR_CODES),
  detail: z.string().max(512),
});
export type FileError = z.infer<typeof FileErrorSchema>;

export const InventoryFileSchema = z.object({
  /** The file name in the share (the certificate's `alias`), not a path. */
  name: z
    .string()
    .min(1)
    .max(LIMITS.fileName)
    .refine((n) => !/[\\/]/.test(n), 'must be a file name'),
  size: z.number().int().nonnegative(),
  /** Last write time, ISO 8601. */
  modified: z.string().max(32),
  certificate: CertificateInfoSchema.nullable(),
  pfx: PfxInfoSchema.nullable(),
  error: FileErrorSchema.nullable(),
});
export type InventoryFile = z.infer<typeof InventoryFileSchema>;
