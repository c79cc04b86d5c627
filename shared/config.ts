/**
 * The Function App's configuration, parsed once from the environment with a schema. A missing
 * or malformed setting fails fast with its variable name. infra/ must provide exactly the
 * settings listed in APP_SETTINGS (a parity test checks it).
 */
import { z } from 'zod';
import { isCcsId } from './names.js';
import { AllowedLocationSchema } from './paths.js';

export const ApiKeySchema = z.object({
  name: z.string().min(1),
  role: z.enum(['read', 'write']),
  /** Lowercase hex SHA-256 of the token; the token itself is never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

const jsonText = (what: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be ${what}` });
      return z.NEVER;
    }
  });

const jsonArray = <T extends z.ZodType>(item: T) => jsonText('a JSON array').pipe(z.array(item));

/** `{ "<ccs-id>" | "*": ["CONTOSO\\ccs-reader", …] }`: CCS_SHARE_IDENTITIES. */
const jsonRecordOfLists = jsonText('a JSON object').pipe(
  z.record(
    z.string().refine((key) => key === '*' || isCcsId(key), 'keys must be ccs-ids or *'),
    z.array(z.string().trim().min(1).max(256)).min(1),
  ),
);

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * Every setting the code reads. Storage follows the Functions convention: either a connection
 * string in `AzureWebJobsStorage` (local emulator) or identity-based service URIs
 * (`AzureWebJobsStorage__queueServiceUri`, `__tableServiceUri`, `__credential`, `__clientId`).
 */
export const ConfigSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    AzureWebJobsStorage__queueServiceUri: optionalText,
    AzureWebJobsStorage__tableServiceUri: optionalText,
    AzureWebJobsStorage__credential: optionalText,
    AzureWebJobsStorage__clientId: optionalText,
    /** User-assigned managed identity used for Key Vault (DefaultAzureCredential reads it). */
    AZURE_CLIENT_ID: optionalText,
    CCS_KEY_VAULT_URL: z.url(),
    /** Local mode only: PEM file of the local Key Vault endpoint's self-signed certificate. */
    CCS_KEY_VAULT_CA_FILE: optionalText,
    /** Local mode only: the bearer token the local Key Vault endpoint accepts. */
    CCS_KEY_VAULT_LOCAL_TOKEN: optionalText,
    /** IIS Administration `files.locations` shape: [{ "path": "...", "claims": ["read"] }]. */
    CCS_ALLOWED_LOCATIONS: jsonArray(AllowedLocationSchema),
    /** Access-Token keys as hashes: [{ "name", "role": "read"|"write", "sha256" }]. */
    CCS_API_KEYS: jsonArray(ApiKeySchema).default([]),
    CCS_ENTRA_TENANT_ID: optionalText,
    CCS_ENTRA_AUDIENCE: optionalText,
    /** Optional overrides for sovereign clouds and tests; derived from the tenant otherwise. */
    CCS_ENTRA_ISSUER: optionalText,
    CCS_ENTRA_JWKS_URL: optionalText,
    CCS_PREFLIGHT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    CCS_OPERATION_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
    /** How often the elected host of each ccs-id scans the share (docs/certificates.md). */
    CCS_INVENTORY_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
    /** Days before expiry from which a certificate has the `expiring` problem. */
    CCS_CERTIFICATE_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
    /**
     * The ccs-id that IIS Administration clients address without knowing one: the
     * `central_certificates` link of GET /api/webserver and the collection route (README,
     * "Compatibility with IIS Administration API clients"). Blank means `default`.
     */
    CCS_DEFAULT_ID: optionalText
      .transform((v) => v ?? 'default')
      .refine(isCcsId, 'must be 1-32 lowercase letters, digits or single inner hyphens'),
    // ── identity abuse (issue 17, shared/services/identity-policy.ts) ──
    /** Allowed share identities per ccs-id (`*`: every other ccs-id): {"fleet-a":["CONTOSO\\ccs-a"]}. Empty: any. */
    CCS_SHARE_IDENTITIES: jsonRecordOfLists.default({}),
    /** Identity changes (username or password) accepted per ccs-id in a sliding hour. */
    CCS_IDENTITY_CHANGES_PER_HOUR: z.coerce.number().int().min(1).max(1000).default(10),
    /**
     * The operator console (docs/console.md): the client id of the Entra app registration it signs
     * in with (a single-page-application platform whose redirect URI is the console's URL). Default:
     * the client id (a GUID) listed in CCS_ENTRA_AUDIENCE, when the API's own registration is used.
     */
    CCS_CONSOLE_CLIENT_ID: optionalText,
    // ── publishing sources (issue 14, shared/publishing/source-access.ts) ──
    /**
     * How agents reach Key Vault: `fleet-wide` (one group, every secret) or `per-ccs-id` (a group
     * per ccs-id that reads only certificates named `ccs-<ccs-id>--…` besides its two passwords;
     * the sources API then takes only such names). infra/ sets `per-ccs-id` when `fleets` is set.
     */
    CCS_AGENT_ACCESS: z.enum(['fleet-wide', 'per-ccs-id']).default('fleet-wide'),
  })
  .superRefine((c, ctx) => {
    if (
      !c.AzureWebJobsStorage &&
      !(c.AzureWebJobsStorage__queueServiceUri && c.AzureWebJobsStorage__tableServiceUri)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['AzureWebJobsStorage'],
        message: 'set AzureWebJobsStorage or both AzureWebJobsStorage__queueServiceUri and __tableServiceUri',
      });
    }
    if (Boolean(c.CCS_ENTRA_TENANT_ID) !== Boolean(c.CCS_ENTRA_AUDIENCE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['CCS_ENTRA_AUDIENCE'],
        message: 'CCS_ENTRA_TENANT_ID and CCS_ENTRA_AUDIENCE go together',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** The names of every app setting the code reads (for the infra parity test). */
export const APP_SETTINGS = Object.keys(ConfigSchema.shape) as (keyof Config)[];

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`Configuration setting ${setting} is invalid: ${detail}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const setting = issue?.path.map(String).join('.') || 'environment';
    throw new ConfigError(setting, issue?.message ?? 'invalid');
  }
  return result.data;
}
