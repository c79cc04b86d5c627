/**
 * The messages between the cloud and the agents, defined once. The API writes commands with
 * these schemas and the agent parses them with the same schemas; reports go the other way.
 * Every message carries `v` (the schema version) so either side can refuse what it does not
 * understand. No message ever holds a secret value: only Key Vault references.
 */
import { z } from 'zod';
import { InventoryFileSchema } from './certificates/metadata.js';
import { base64url, HostErrorSchema, messageHeader, SecretRefSchema, signedReport } from './message-parts.js';
import {
  PublishCommandSchema,
  PublishReportSchema,
  ReencryptCommandSchema,
  ReencryptReportSchema,
} from './publishing/messages.js';

export {
  base64url,
  HostErrorSchema,
  MESSAGE_VERSION,
  ReportSignatureSchema,
  SecretRefSchema,
  TokenSchema,
} from './message-parts.js';
export type { HostError, ReportSignature, SecretRef } from './message-parts.js';

const header = messageHeader;
const signed = signedReport;

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

/** Phase one of a change: check it on the host, change nothing. */
export const PreflightCommandSchema = z.object({
  ...header,
  type: z.literal('preflight'),
  operationId: z.string().min(1).max(64),
  generation: z.number().int().nonnegative(),
  desired: DesiredStateSchema,
  issuedAt: z.string(),
  /**
   * `?force=true`: skip the bound-names check (a change may take a certificate away from a site
   * that has one now). Optional: an agent that predates it ignores it, an API that predates it
   * never sends it.
   */
  force: z.boolean().optional(),
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
  PublishCommandSchema,
  ReencryptCommandSchema,
]);
export type AgentCommand = z.infer<typeof AgentCommandSchema>;

/**
 * One IIS HTTPS binding that uses the Central Certificate Store (`sslFlags` bit 2,
 * CentralCertStore), as applicationHost.config holds it: `bindingInformation="ip:port:host"`.
 * `hostName` is as configured (it may be Unicode; shared/coverage.ts gives its lookup name) and
 * empty when the binding names none; `ip` is `*` for all unassigned addresses, else the address
 * (IPv6 without brackets); `sni` is `sslFlags` bit 1 (Require Server Name Indication).
 */
export const CcsBindingSchema = z.object({
  site: z.string().min(1).max(260),
  hostName: z.string().max(255),
  port: z.number().int().min(1).max(65535),
  ip: z.string().min(1).max(64),
  sni: z.boolean(),
});
export type CcsBinding = z.infer<typeof CcsBindingSchema>;

/** Bindings a host reports at most: more are counted in `total` and not listed (docs/agent.md). */
export const MAX_REPORTED_BINDINGS = 20_000;

/** SHA-256 (base64url) of a host's sorted binding list: names one snapshot across reports. */
const BindingsDigestSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/**
 * A host's CCS bindings as `hello` and `result` carry them: the list itself (`items`) when it
 * fits in the message, else only its digest, and the list follows in `bindings` reports with the
 * same digest. `error` says the bindings could not be read (then `digest` is null and the API
 * keeps what it knew).
 */
export const BindingsSummarySchema = z.object({
  digest: BindingsDigestSchema.nullable(),
  total: z.number().int().nonnegative(),
  items: z.array(CcsBindingSchema).max(500).optional(),
  error: HostErrorSchema.nullable(),
});
export type BindingsSummary = z.infer<typeof BindingsSummarySchema>;

/** An SHA-1 certificate thumbprint, upper-case hex (as IIS and the certificates API write it). */
const ThumbprintSchema = z.string().regex(/^[0-9A-F]{40}$/);

/**
 * The serving check of one binding after an apply: a real TLS handshake to it (SNI = its host
 * name) compared with the share file IIS would use. `ok`: the file's certificate was served;
 * `mismatch`: another certificate was served; `failed`: no certificate (refused, reset, timed out,
 * handshake error — `detail` says which); `skipped`: not checked (no host name, or over the
 * per-apply limit).
 */
export const ServingResultSchema = z.object({
  site: z.string().max(260),
  hostName: z.string().max(255),
  port: z.number().int().min(1).max(65535),
  ip: z.string().max(64),
  status: z.enum(['ok', 'mismatch', 'failed', 'skipped']),
  detail: z.string().max(512),
  /** The share file IIS would serve this name from; null when the share has none. */
  file: z.string().max(260).nullable(),
  /** That file's certificate; null when there is no file or it does not open with the store's password. */
  expected: ThumbprintSchema.nullable(),
  /** The certificate the handshake returned; null when there was none. */
  served: ThumbprintSchema.nullable(),
});
export type ServingResult = z.infer<typeof ServingResultSchema>;

/**
 * Every binding's serving check after one apply. `counts` covers every binding; `results` lists
 * the worst first (failed, mismatch, skipped, ok) as far as they fit in the message, and
 * `omitted` says how many did not.
 */
export const ServingCheckSchema = z.object({
  at: z.string(),
  counts: z.object({
    ok: z.number().int().nonnegative(),
    mismatch: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
  }),
  results: z.array(ServingResultSchema).max(500),
  omitted: z.number().int().nonnegative(),
});
export type ServingCheck = z.infer<typeof ServingCheckSchema>;

export const HelloReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('hello'),
  agentVersion: z.string().max(64),
  backend: z.string().max(32),
  actual: ActualStateSchema,
  appliedGeneration: z.number().int().nonnegative(),
  at: z.string(),
  /** The host's CCS bindings. Optional: agents that predate them send none. */
  bindings: BindingsSummarySchema.optional(),
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
  /** The host's CCS bindings when the command was done. Optional, as in `hello`. */
  bindings: BindingsSummarySchema.optional(),
  /** After an apply that succeeded: the serving check of every CCS binding. */
  serving: ServingCheckSchema.optional(),
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

/**
 * A host's CCS bindings, sent when the drift check sees them change and, in chunks, whenever a
 * list is too long to travel inside `hello` or `result`. Every chunk of one list carries its
 * `digest`; the list is complete once chunks 0…count-1 of that digest arrived. `error`: the
 * bindings could not be read (one chunk, no bindings, digest null).
 */
export const BindingsReportSchema = z.object({
  ...header,
  ...signed,
  type: z.literal('bindings'),
  digest: BindingsDigestSchema.nullable(),
  total: z.number().int().nonnegative(),
  chunk: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
  bindings: z.array(CcsBindingSchema).max(2000),
  error: HostErrorSchema.nullable(),
  appliedGeneration: z.number().int().nonnegative(),
  at: z.string(),
});
export type BindingsReport = z.infer<typeof BindingsReportSchema>;

export const ReportSchema = z.discriminatedUnion('type', [
  HelloReportSchema,
  ResultReportSchema,
  DriftReportSchema,
  InventoryReportSchema,
  BindingsReportSchema,
  PublishReportSchema,
  ReencryptReportSchema,
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
