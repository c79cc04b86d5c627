/**
 * The parts every message between the cloud and the agents is made of: the version, the header,
 * Key Vault references, host errors and the report signature. Kept apart from messages.ts so that
 * families of messages defined in their own files (shared/publishing/messages.ts) can use them and
 * still be imported into messages.ts's unions without an import cycle. messages.ts re-exports all
 * of it: import from there.
 */
import { z } from 'zod';

/**
 * Additions keep version 1: new fields are optional (a zod object drops what it does not know, so
 * an older reader still parses the rest) and a new report type is only refused by an older API,
 * which sets it aside without harm. A change an older reader would misread needs version 2.
 */
export const MESSAGE_VERSION = 1 as const;

/** A reference to exactly one version of a Key Vault secret. */
export const SecretRefSchema = z.object({
  name: z.string().min(1).max(127),
  version: z.string().min(1).max(64),
});
export type SecretRef = z.infer<typeof SecretRefSchema>;

/**
 * A code or a field name from a host: a token (a letter, then letters, digits, `.`, `_`, `-`),
 * never free text, because it travels into API bodies, logs and error handling (no spaces, no
 * CR/LF). Free text belongs in `detail`.
 */
export const TokenSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, 'must be a token: a letter, then letters, digits, ., _ or -');

/** A host-side failure, already in the API's error vocabulary (`name` is the field at fault). */
export const HostErrorSchema = z.object({
  name: TokenSchema,
  code: TokenSchema,
  detail: z.string().max(1024),
  status: z.number().int().min(400).max(599),
  /** The bound host names the error is about (`BoundNamesUncovered`), at most 100; `detail` gives the count. */
  hostNames: z.array(z.string().max(255)).max(100).optional(),
});
export type HostError = z.infer<typeof HostErrorSchema>;

/** Every message names its schema version, its fleet and its host. */
export const messageHeader = {
  v: z.literal(MESSAGE_VERSION),
  ccsId: z.string().min(1).max(32),
  host: z.string().min(1).max(253),
};

/** A base64url string of exactly `chars` characters (keys, signatures, digests). */
export const base64url = (chars: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${chars}}$`));

/**
 * A host's signature on a report (shared/report-signature.ts): ES256 (`r || s`, base64url) over
 * the canonical JSON of every other member of the report; `kid` is the RFC 7638 thumbprint of the
 * host's public key. `v` versions the envelope. Optional, so reports of older agents still parse;
 * an API that requires signatures refuses a report without one.
 */
export const ReportSignatureSchema = z.strictObject({
  v: z.literal(1),
  alg: z.literal('ES256'),
  kid: base64url(43),
  sig: base64url(86),
});
export type ReportSignature = z.infer<typeof ReportSignatureSchema>;

/** Reports may carry their host's signature. */
export const signedReport = { sig: ReportSignatureSchema.optional() };
