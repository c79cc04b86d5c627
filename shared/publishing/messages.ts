/**
 * The messages of the share publisher (docs/certificates.md, "Publishing"): the commands the API
 * sends the host it elected to write the share, and that host's reports. Imported into the unions
 * of shared/messages.ts; like every command they are signed by the API, like every report signed by
 * the host. They carry Key Vault references and certificate metadata, never a secret or key.
 *
 * Size: a queue message is at most 64 KiB of base64, so under 48 KB of JSON. 1,000 sources do not
 * fit one command (a Key Vault name is up to 127 characters, a version 32), so a publish run is
 * sent in chunks of at most PUBLISH_SOURCES_PER_COMMAND sources that the host gathers before it
 * runs (agent/publish/assembler.ts); its report comes back in chunks of the files it owns.
 */
import { z } from 'zod';
import { HostErrorSchema, messageHeader, SecretRefSchema, signedReport } from '../message-parts.js';

/** Sources per publish command: 300 × (127 + 32 + JSON) stays well under the queue's limit. */
export const PUBLISH_SOURCES_PER_COMMAND = 300;

/** Key Vault object names: 1-127 letters, digits and dashes (Key Vault's naming rules). */
export const KeyVaultNameSchema = z
  .string()
  .regex(/^[0-9A-Za-z-]{1,127}$/, 'must be 1-127 letters, digits or dashes (a Key Vault name)');

/** A Key Vault object version: 32 hex digits in Azure; any short token is accepted. */
export const KeyVaultVersionSchema = z.string().regex(/^[0-9A-Za-z]{1,64}$/);

export const PfxProfileSchema = z.enum(['tripledes-sha1', 'aes256-sha256']);

/** The staging folder of a private-key password rotation: a subfolder of the store, named by the new password's version. */
export const StageFolderSchema = z.string().regex(/^\.ccs-rotation-[0-9a-z]{1,32}$/);

const chunk = z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() });

/**
 * One source of a publish run: a Key Vault certificate at one version. Its PFX or PEM is the
 * certificate's managed secret, which Key Vault gives the certificate's name and version (`sid`),
 * so the host reads the secret by exactly this name and version.
 */
export const PublishSourceRefSchema = z.object({
  name: KeyVaultNameSchema,
  version: KeyVaultVersionSchema,
  /** From the certificate policy's content type: `pfx` (application/x-pkcs12) or `pem` (application/x-pem-file). */
  format: z.enum(['pfx', 'pem']),
  /** Replace share files of these names that the publisher did not write. */
  overwrite: z.boolean().optional(),
});
export type PublishSourceRef = z.infer<typeof PublishSourceRefSchema>;

/**
 * Write the share: every source's current version, one file per host name, encrypted with the
 * store's private-key password in `profile` (docs/certificates.md). `seq` numbers the runs of a
 * ccs-id; the chunks of one run share it and the host runs once it holds all of them.
 */
export const PublishCommandSchema = z.object({
  ...messageHeader,
  type: z.literal('publish'),
  seq: z.number().int().positive(),
  chunk,
  /** The store's path as the API keeps it (expanded and checked against this host's allow-list). */
  path: z.string().min(1).max(260),
  privateKeyPassword: SecretRefSchema.nullable(),
  profile: PfxProfileSchema,
  sources: z.array(PublishSourceRefSchema).max(PUBLISH_SOURCES_PER_COMMAND),
  /** Sources Key Vault could not resolve at the last look (gone, disabled): their files are kept. In chunk 0 only. */
  keep: z.array(KeyVaultNameSchema).max(1000).optional(),
  /** Temporary files of a dead run older than this are removed (the inventory interval, at least 60 s). */
  orphanAfterSeconds: z.number().int().min(60).max(86_400),
  /** Rotation staging folders left in the store are removed: every host serves the store itself again. */
  removeStages: z.boolean().optional(),
  issuedAt: z.string(),
});
export type PublishCommand = z.infer<typeof PublishCommandSchema>;

/**
 * One publisher step of a private-key password rotation (docs/certificates.md, "Rotating the
 * private-key password"): `stage` writes every file the publisher owns, re-encrypted with `to`,
 * into the staging folder `stage` of the store; `in-place` re-encrypts the store's own files.
 */
export const ReencryptCommandSchema = z.object({
  ...messageHeader,
  type: z.literal('reencrypt'),
  operationId: z.string().min(1).max(64),
  step: z.enum(['stage', 'in-place']),
  path: z.string().min(1).max(260),
  stage: StageFolderSchema,
  from: SecretRefSchema.nullable(),
  to: SecretRefSchema.nullable(),
  profile: PfxProfileSchema,
  /** Go ahead although the store holds files the publisher did not write (they are left as they are). */
  force: z.boolean(),
  issuedAt: z.string(),
});
export type ReencryptCommand = z.infer<typeof ReencryptCommandSchema>;

/** A file the publisher owns after a run, as its ownership record says. */
export const PublishedFileSchema = z.object({
  file: z.string().min(1).max(255),
  source: KeyVaultNameSchema,
  version: KeyVaultVersionSchema,
  thumbprint: z.string().regex(/^[0-9A-F]{40}$/),
  profile: PfxProfileSchema,
  /** The Key Vault version of the private-key password it is encrypted with (`none` without one). */
  passwordVersion: z.string().min(1).max(64),
});
export type PublishedFile = z.infer<typeof PublishedFileSchema>;

/** Why a source was not published (nothing was written for it; its files, if any, were kept). */
export const SOURCE_ERROR_CODES = [
  'unreadable',
  'wrong_password',
  'no_private_key',
  'unsupported_key',
  'expired',
  'not_yet_valid',
  'no_host_names',
  'duplicate_source',
  'name_conflict',
  'file_not_owned',
  'secret_unavailable',
  'not_found',
  'disabled',
] as const;

export const SourceErrorSchema = z.object({
  source: KeyVaultNameSchema,
  version: z.string().max(64),
  code: z.enum(SOURCE_ERROR_CODES),
  detail: z.string().max(512),
  files: z.array(z.string().max(255)).max(20).optional(),
});
export type SourceErrorReport = z.infer<typeof SourceErrorSchema>;

/** What a run did, in chunk 0 of its report. */
export const PublishCountsSchema = z.object({
  written: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  keptChanged: z.number().int().nonnegative(),
  tempFilesRemoved: z.number().int().nonnegative(),
  skippedNames: z.number().int().nonnegative(),
});
export type PublishCounts = z.infer<typeof PublishCountsSchema>;

/**
 * A publish run's result, in chunks: together they list every file the publisher owns after the
 * run (the API replaces what it knew once all chunks arrived) and every refused source. `error`:
 * the run could not complete (the share turned read-only or full, another publisher…): one chunk,
 * nothing listed, and what the share holds is still whole and recorded.
 */
export const PublishReportSchema = z.object({
  ...messageHeader,
  ...signedReport,
  type: z.literal('publish'),
  seq: z.number().int().positive(),
  chunk,
  files: z.array(PublishedFileSchema).max(2000),
  errors: z.array(SourceErrorSchema).max(1000),
  counts: PublishCountsSchema.optional(),
  /**
   * In chunk 0: when the share's oldest temporary file of another (dead) run becomes old enough to
   * remove (orphanAfterSeconds); absent when there is none. The API asks for a run then.
   */
  orphansDueAt: z.string().max(40).optional(),
  error: HostErrorSchema.nullable(),
  at: z.string(),
});
export type PublishReport = z.infer<typeof PublishReportSchema>;

/** The result of one rotation step (`ReencryptCommand`). */
export const ReencryptReportSchema = z.object({
  ...messageHeader,
  ...signedReport,
  type: z.literal('reencrypt'),
  operationId: z.string().min(1).max(64),
  step: z.enum(['stage', 'in-place']),
  outcome: z.enum(['succeeded', 'failed']),
  error: HostErrorSchema.nullable(),
  /** Files written in this step. */
  files: z.number().int().nonnegative(),
  /** `.pfx` files the publisher did not write (refused without `force`, left alone with it). */
  foreign: z.array(z.string().max(255)).max(100),
  at: z.string(),
});
export type ReencryptReport = z.infer<typeof ReencryptReportSchema>;
