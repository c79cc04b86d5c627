/**
 * The messages between the cloud and the agents, defined once. The API writes commands with
 * these schemas and the agent parses them with the same schemas; reports go the other way.
 * Every message carries `v` (the schema version) so either side can refuse what it does not
 * understand. No message ever holds a secret value: only Key Vault references.
 */
import { z } from 'zod';
import { InventoryFileSchema } from './certificates/metadata.js';

export const MESSAGE_VERSION = 1 as const;

/** A reference to exactly one version of a Key Vault secret. */
export const SecretRefSchema = z.object({
  name: z.string().min(1).max(127),
  version: z.string().min(1).max(64),
});
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** What a host should look like. `enabled: false` means CCS disabled and credentials erased. */
export const DesiredStateSchema = z.object({
  enabled: z.boolean(),
  path: z.string().nullable(),
  username: z.string().nullable(),
  password: SecretRefSchema.nullable(),
  privateKeyPassword: SecretRefSchema.nullable(),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;

export const DISABLED_STATE: DesiredState = {
  enabled: false,
  path: null,
  username: null,
  password: null,
  privateKeyPassword: null,
};

/** What a host reports it has (read from IIS / the simulated registry). Never a password. */
export const ActualStateSchema = z.object({
  enabled: z.boolean(),
  path: z.string().nullable(),
  username: z.string().nullable(),
  featureInstalled: z.boolean().optional(),
  rebootRequired: z.boolean().optional(),
  /** Windows version (`10.0.17763`), when the backend knows it: the certificates API flags PFX encryption older hosts cannot read. */
  osVersion: z.string().max(64).optional(),
});
export type ActualState = z.infer<typeof ActualStateSchema>;

/** A host-side failure, already in the API's error vocabulary (`name` is the field at fault). */
export const HostErrorSchema = z.object({
  name: z.string().max(64),
  code: z.string().max(64),
  detail: z.string().max(1024),
  status: z.number().int().min(400).max(599),
});
export type HostError = z.infer<typeof HostErrorSchema>;

const header = {
  v: z.literal(MESSAGE_VERSION),
  ccsId: z.string().min(1).max(32),
  host: z.string().min(1).max(253),
};

const base64url = (chars: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${chars}}$`));

/**
 * A host's public key (JWK, EC P-256), made by its agent at enrolment (agent/host-key.ts); the
 * private key never leaves the host. Sent in `hello`; the API registers it and from then on folds
 * only reports this key signed (shared/report-signature.ts).
 */
export const HostPublicKeySchema = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: base64url(43),
  y: base64url(43),
});
export type HostPublicKey = z.infer<typeof HostPublicKeySchema>;

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

const signed = { sig: ReportSignatureSchema.optional() };

/** Phase one of a change: check it on the host, change nothing. */
export const PreflightCommandSchema = z.object({
  ...header,
  type: z.literal('preflight'),
  operationId: z.string().min(1).max(64),
  generation: z.number().int().nonnegative(),
  desired: DesiredStateSchema,
  issuedAt: z.string(),
});

/** Phase two (or a plain catch-up on enrolment/drift): make the host match `desired`. */
export const ApplyCommandSchema = z.object({
  ...header,
  type: z.literal('apply'),
  operationId: z.string().min(1).max(64).nullable(),
  generation: z.number().int().nonnegative(),
  desired: DesiredStateSchema,
  issuedAt: z.string(),
});

export const CommandSchema = z.discriminatedUnion('type', [PreflightCommandSchema, ApplyCommandSchema]);
export type PreflightCommand = z.infer<typeof PreflightCommandSchema>;
export type ApplyCommand = z.infer<typeof ApplyCommandSchema>;
export type Command = z.infer<typeof CommandSchema>;

/**
 * Inventory (docs/certificates.md): the API elects one host per ccs-id and asks it to scan the
 * share. `scanSeq` fences reports (only the elected host's current scans count); `full` asks for
 * every file instead of the changes since this host's last scan. Not part of CommandSchema: it is
 * no change of IIS and never goes through the reconciler.
 */
export const ScanCommandSchema = z.object({
  ...header,
  type: z.literal('scan'),
  generation: z.number().int().nonnegative(),
  scanSeq: z.number().int().positive(),
  full: z.boolean(),
  issuedAt: z.string(),
});
export type ScanCommand = z.infer<typeof ScanCommandSchema>;

/** Everything an agent may find on its queue. */
export const AgentCommandSchema = z.discriminatedUnion('type', [
  PreflightCommandSchema,
  ApplyCommandSchema,
  ScanCommandSchema,
]);
export type AgentCommand = z.infer<typeof AgentCommandSchema>;

export const HelloReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('hello'),
  agentVersion: z.string().max(64),
  backend: z.string().max(32),
  actual: ActualStateSchema,
  appliedGeneration: z.number().int().nonnegative(),
  at: z.string(),
  /** This host's public key (agents that sign their reports send it in every hello). */
  hostKey: HostPublicKeySchema.optional(),
  /**
   * Proof of a one-time enrolment code (shared/report-signature.ts `enrolmentProof`): binds the
   * code to this host and `hostKey` without sending the code itself.
   */
  enrolmentProof: base64url(43).optional(),
});

export const ResultReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('result'),
  operationId: z.string().max(64).nullable(),
  phase: z.enum(['preflight', 'apply']),
  generation: z.number().int().nonnegative(),
  outcome: z.enum(['succeeded', 'failed', 'superseded']),
  error: HostErrorSchema.nullable(),
  actual: ActualStateSchema.nullable(),
  appliedGeneration: z.number().int().nonnegative(),
  at: z.string(),
});

/** Someone changed IIS by hand; the agent noticed (and, when `repaired`, re-applied). */
export const DriftReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('drift'),
  generation: z.number().int().nonnegative(),
  found: ActualStateSchema,
  actual: ActualStateSchema,
  repaired: z.boolean(),
  error: HostErrorSchema.nullable(),
  appliedGeneration: z.number().int().nonnegative(),
  at: z.string(),
});

/**
 * One chunk of a scan's result (metadata only: shared/certificates/metadata.ts). A delta scan
 * carries the files added or changed since the scanner's previous scan and the names removed;
 * a full scan carries every file, and the API drops what it did not list once all `count`
 * chunks arrived. `error` says the scan could not run (no file is listed then).
 */
export const InventoryReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('inventory'),
  scanSeq: z.number().int().positive(),
  generation: z.number().int().nonnegative(),
  full: z.boolean(),
  chunk: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
  /** How many .pfx files the share holds now. */
  files: z.number().int().nonnegative(),
  upserts: z.array(InventoryFileSchema).max(2000),
  removed: z.array(z.string().min(1).max(255)).max(20_000),
  renamed: z.array(z.object({ from: z.string().max(255), to: z.string().max(255) })).max(10_000),
  error: HostErrorSchema.nullable(),
  at: z.string(),
});
export type InventoryReport = z.infer<typeof InventoryReportSchema>;

export const ReportSchema = z.discriminatedUnion('type', [
  HelloReportSchema,
  ResultReportSchema,
  DriftReportSchema,
  InventoryReportSchema,
]);
export type HelloReport = z.infer<typeof HelloReportSchema>;
export type ResultReport = z.infer<typeof ResultReportSchema>;
export type DriftReport = z.infer<typeof DriftReportSchema>;
export type Report = z.infer<typeof ReportSchema>;

/** Queue messages are JSON, base64-encoded (what the Functions queue trigger expects by default). */
export function encodeMessage(message: AgentCommand | Report): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** Decode a base64 or plain JSON queue message text into an unknown value (schema check is the caller's). */
export function decodeMessageText(text: string): unknown {
  const trimmed = text.trim();
  const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');
  return JSON.parse(json) as unknown;
}

/**
 * The API's signature on a command (shared/signing.ts): ES256 with the Key Vault key
 * `ccs-command-signing` (`r || s`, base64url, as Key Vault's `sign` returns it), over the
 * canonical JSON of every other field of the message. `kid` is the key's version, so an agent
 * fetches exactly that version's public key (and caches it). Not part of the command schemas:
 * it is read from the raw message, so an unsigned command still parses — agents refuse it.
 */
export const CommandSignatureSchema = z.strictObject({
  alg: z.literal('ES256'),
  kid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  sig: base64url(86),
});
export type CommandSignature = z.infer<typeof CommandSignatureSchema>;
