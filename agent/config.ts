/**
 * The agent's configuration: one JSON file (`--config <file>` or `CCS_AGENT_CONFIG`) plus
 * `CCS_AGENT_*` environment overrides, parsed once with a schema. Every error names the
 * setting at fault (as its JSON path, and the variable when the value came from the
 * environment), so an operator fixing a service install knows exactly what to change.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/config.js';
import { ENROLMENT_CODE } from '../shared/enrolment.js';
import { AllowedLocationSchema } from '../shared/paths.js';
import { isCcsId, isHostName } from '../shared/names.js';

export { ConfigError };

export const BACKENDS = ['simulated', 'powershell'] as const;
export type BackendName = (typeof BACKENDS)[number];

const text = z.string().trim().min(1, 'must not be empty');
const seconds = (fallback: number, min: number) => z.coerce.number().min(min).max(86_400).default(fallback);

const StorageSchema = z.union(
  [z.strictObject({ connectionString: text }), z.strictObject({ queueServiceUri: z.url() })],
  { error: 'set storage.connectionString (local) or storage.queueServiceUri (Azure identity)' },
);

const KeyVaultSchema = z.strictObject({
  url: z.url(),
  /** Local mode only: PEM of the local Key Vault endpoint's self-signed certificate. */
  caCertFile: text.optional(),
  /** Local mode only: the bearer token the local Key Vault accepts (no Azure identity there). */
  localToken: text.optional(),
});

const SimulatedSchema = z.strictObject({
  /** Where the simulated `HKLM\...\CentralCertProvider` key and the machine key live. */
  stateDir: text,
  /** Root of the simulated shares (`\\localhost\<share>`) and drives (`drives/C`). */
  shareRoot: text,
  /** The Windows version the simulated server reports, e.g. `10.0.14393` (Server 2016); unset: unknown. */
  osVersion: text.optional(),
});

const PowerShellSchema = z.strictObject({
  /** `powershell.exe` (Windows PowerShell 5.1, the default), `pwsh`, or the full path of either. */
  executable: text.optional(),
  /** How long one PowerShell call may take before it is killed and reported (default 120). */
  timeoutSeconds: z.coerce.number().min(1).max(3600).optional(),
  /** Where the agent's .ps1 scripts are (default: agent/powershell next to the agent's code). */
  scriptsDir: text.optional(),
});

const HostKeySchema = z.strictObject({
  /**
   * How the host key's private part is kept (agent/host-key.ts): `dpapi` (Windows data
   * protection, LocalMachine; the default on Windows) or `file` (file permissions only).
   */
  protection: z.enum(['file', 'dpapi']).optional(),
});

export const AgentConfigSchema = z
  .strictObject({
    ccsId: z.string().refine(isCcsId, 'must be 1-32 lowercase letters, digits or single inner hyphens'),
    hostName: z
      .string()
      .default(() => hostname())
      .refine(isHostName, 'must be a computer name or FQDN'),
    storage: StorageSchema,
    keyVault: KeyVaultSchema,
    backend: z.enum(BACKENDS).optional(),
    allowedLocations: z.array(AllowedLocationSchema).default([]),
    environment: z.record(z.string(), z.string()).optional(),
    pollMinSeconds: seconds(1, 0.01),
    pollMaxSeconds: seconds(30, 0.01),
    helloIntervalSeconds: seconds(300, 0.05),
    driftIntervalSeconds: seconds(60, 0.05),
    /**
     * How long a received command stays invisible. It is never extended (the agent's role has no
     * Update Message right, agent/queue.ts), so it must outlast the longest command: an apply
     * that installs the CCS feature may take the PowerShell backend's 30 min install timeout plus
     * its other calls. At most the commands' own lifetime (a day).
     */
    visibilityTimeoutSeconds: z.coerce.number().int().min(1).max(86_400).default(3600),
    /** How long one TLS handshake of the serving check may take (agent/serving/). */
    servingCheckTimeoutSeconds: z.coerce.number().min(0.1).max(60).default(5),
    stateDir: text.optional(),
    simulated: SimulatedSchema.optional(),
    powershell: PowerShellSchema.optional(),
    /** A one-time code from `POST …/{ccs-id}/enrolment-codes`; its proof goes in `hello`, never the code. */
    enrolmentCode: z
      .string()
      .trim()
      .regex(ENROLMENT_CODE, 'must be the 32-character code the API created')
      .optional(),
    hostKey: HostKeySchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.pollMaxSeconds < c.pollMinSeconds) {
      ctx.addIssue({ code: 'custom', path: ['pollMaxSeconds'], message: 'must be ≥ pollMinSeconds' });
    }
    if (c.backend === 'simulated' && !c.simulated) {
      ctx.addIssue({ code: 'custom', path: ['simulated'], message: 'required when backend is "simulated"' });
    }
  });

type ParsedConfig = z.infer<typeof AgentConfigSchema>;

export interface AgentConfig extends Omit<ParsedConfig, 'backend' | 'environment' | 'stateDir' | 'hostKey'> {
  backend: BackendName;
  environment: Record<string, string | undefined>;
  stateDir: string;
  hostKey: { protection: 'file' | 'dpapi' };
}

/** `CCS_AGENT_*` variable → setting path. Listed explicitly so the README and errors agree. */
export const ENV_OVERRIDES: Readonly<Record<string, readonly string[]>> = {
  CCS_AGENT_CCS_ID: ['ccsId'],
  CCS_AGENT_HOST_NAME: ['hostName'],
  CCS_AGENT_STORAGE_CONNECTION_STRING: ['storage', 'connectionString'],
  CCS_AGENT_STORAGE_QUEUE_SERVICE_URI: ['storage', 'queueServiceUri'],
  CCS_AGENT_KEY_VAULT_URL: ['keyVault', 'url'],
  CCS_AGENT_KEY_VAULT_CA_CERT_FILE: ['keyVault', 'caCertFile'],
  CCS_AGENT_KEY_VAULT_LOCAL_TOKEN: ['keyVault', 'localToken'],
  CCS_AGENT_BACKEND: ['backend'],
  CCS_AGENT_ALLOWED_LOCATIONS: ['allowedLocations'],
  CCS_AGENT_POLL_MIN_SECONDS: ['pollMinSeconds'],
  CCS_AGENT_POLL_MAX_SECONDS: ['pollMaxSeconds'],
  CCS_AGENT_HELLO_INTERVAL_SECONDS: ['helloIntervalSeconds'],
  CCS_AGENT_DRIFT_INTERVAL_SECONDS: ['driftIntervalSeconds'],
  CCS_AGENT_VISIBILITY_TIMEOUT_SECONDS: ['visibilityTimeoutSeconds'],
  CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS: ['servingCheckTimeoutSeconds'],
  CCS_AGENT_STATE_DIR: ['stateDir'],
  CCS_AGENT_SIMULATED_STATE_DIR: ['simulated', 'stateDir'],
  CCS_AGENT_SIMULATED_SHARE_ROOT: ['simulated', 'shareRoot'],
  CCS_AGENT_POWERSHELL_EXECUTABLE: ['powershell', 'executable'],
  CCS_AGENT_POWERSHELL_TIMEOUT_SECONDS: ['powershell', 'timeoutSeconds'],
  CCS_AGENT_POWERSHELL_SCRIPTS_DIR: ['powershell', 'scriptsDir'],
  CCS_AGENT_ENROLMENT_CODE: ['enrolmentCode'],
  CCS_AGENT_HOST_KEY_PROTECTION: ['hostKey', 'protection'],
};

/** Settings holding JSON rather than a plain string when given through the environment. */
const JSON_VALUED = new Set(['CCS_AGENT_ALLOWED_LOCATIONS']);

/** Settings that are file system paths: relative values resolve against the config file's folder. */
const PATH_SETTINGS = [
  ['stateDir'],
  ['keyVault', 'caCertFile'],
  ['simulated', 'stateDir'],
  ['simulated', 'shareRoot'],
  ['powershell', 'scriptsDir'],
];

export interface LoadOptions {
  /** Explicit config file (from `--config`); falls back to `env.CCS_AGENT_CONFIG`. */
  file?: string;
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function getAt(target: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = target;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function readConfigFile(file: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      '--config',
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    throw new ConfigError('--config', `${file} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('--config', `${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Where the agent keeps its applied generation when the config does not say. */
export function defaultStateDir(platform: NodeJS.Platform, env: Record<string, string | undefined>): string {
  if (platform === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'CcsAgent');
  return '/var/lib/ccs-agent';
}

/**
 * Parse the configuration. The backend has no default except on Windows, where it is
 * `powershell`: the simulated backend must be chosen explicitly so it can never end up
 * managing a real IIS server by accident.
 */
export function loadAgentConfig(options: LoadOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const file = options.file ?? (env.CCS_AGENT_CONFIG?.trim() || undefined);
  const input = file ? readConfigFile(file) : {};
  const baseDir = file ? dirname(resolve(file)) : process.cwd();

  const fromEnv = new Map<string, string>();
  let storageFromEnv = false;
  for (const [variable, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable];
    if (value === undefined || value.trim() === '') continue;
    let parsed: unknown = value;
    if (JSON_VALUED.has(variable)) {
      try {
        parsed = JSON.parse(value) as unknown;
      } catch {
        throw new ConfigError(path.join('.'), `${variable} must be JSON`);
      }
    }
    // Storage from the environment replaces the file's storage object, so switching mode works;
    // both variables at once still fail the schema (one mode only).
    if (path[0] === 'storage' && !storageFromEnv) {
      input.storage = {};
      storageFromEnv = true;
    }
    setAt(input, path, parsed);
    fromEnv.set(path.join('.'), variable);
  }

  const result = AgentConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const setting = issue?.path.map(String).join('.') || 'config';
    const variable = fromEnv.get(setting);
    const detail = `${issue?.message ?? 'invalid'}${variable ? ` (from ${variable})` : ''}`;
    throw new ConfigError(setting, detail);
  }
  const parsed = result.data;

  const backend = parsed.backend ?? (platform === 'win32' ? 'powershell' : undefined);
  if (!backend) {
    throw new ConfigError(
      'backend',
      'required: "powershell" on IIS servers, "simulated" for tests and demos',
    );
  }

  const resolved: AgentConfig = {
    ...parsed,
    backend,
    environment: parsed.environment ?? env,
    stateDir: parsed.stateDir ?? defaultStateDir(platform, env),
    hostKey: { protection: parsed.hostKey?.protection ?? (platform === 'win32' ? 'dpapi' : 'file') },
  };
  for (const path of PATH_SETTINGS) {
    const value = getAt(resolved as unknown as Record<string, unknown>, path);
    if (typeof value === 'string' && !isAbsolute(value)) {
      setAt(resolved as unknown as Record<string, unknown>, path, resolve(baseDir, value));
    }
  }
  return resolved;
}
