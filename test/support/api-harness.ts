/**
 * An API under test: real in-process Azurite, the local Key Vault endpoint spoken to by the
 * real SDK client, the real handlers served by the local HTTP host on an ephemeral port.
 * Reports are folded on demand (`drainReports`) so tests decide when hosts "answer".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import { deployCommandSigningKey, fleetPrincipals } from '../../local/keyvault/fleet-roles.js';
import { createAppWiring, setAppContext, type AppContext } from '../../functions/app-context.js';
import type { StorageClients } from '../../shared/adapters/storage.js';
import type { SecretStore, Stores } from '../../shared/ports.js';
import { parseConfig } from '../../shared/config.js';
import type { AllowedLocation } from '../../shared/paths.js';
import { generateAccessToken, hashAccessToken } from '../../shared/auth/access-tokens.js';
import { queueRoutes } from '../../functions/index.js';
import { startHttpHost } from '../../local/http-host.js';
import { startQueueTrigger, type RunningTrigger } from '../../local/queue-host.js';
import { jsonLineLogger } from '../../shared/log.js';
import { REPORTS_QUEUE } from '../../shared/names.js';
import { checkedFetch } from './openapi-validator.js';

export interface ApiHarness {
  url: string;
  writeToken: string;
  readToken: string;
  app: AppContext;
  /** What the services run on: for assertions on stored state, never for driving the API. */
  stores: Stores;
  storage: StorageClients;
  secrets: SecretStore;
  azurite: AzuriteEndpoints;
  vault: LocalKeyVault;
  /** The agents' vault token (Secrets User; Reader on the command-signing key: they cannot sign). */
  agentVaultToken: string;
  /** The certificates' operator (Key Vault Certificates Officer): creates and imports sources. */
  operatorVaultToken: string;
  /** Every log line the API wrote (for secret-leak checks). */
  logs: string[];
  drainReports(): Promise<number>;
  /** A one-time enrolment code for a new host of `ccsId`, created through the API (write role). */
  enrolmentCode(ccsId: string): Promise<string>;
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; token?: string | null },
  ): Promise<Response>;
  close(): Promise<void>;
}

export const TEST_LOCATIONS: AllowedLocation[] = [
  { path: '\\\\fileserver\\ccs', claims: ['read'] },
  { path: 'C:\\certs', claims: ['read'] },
  { path: '%SystemDrive%\\ccs', claims: ['read'] },
  { path: '\\\\localhost\\ccs', claims: ['read'] },
];

export async function startApiHarness(
  options: { preflightTimeoutSeconds?: number; env?: Record<string, string> } = {},
): Promise<ApiHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'ccs-api-'));
  const vaultToken = generateAccessToken();
  const agentVaultToken = generateAccessToken();
  const operatorVaultToken = generateAccessToken();
  const writeToken = generateAccessToken();
  const readToken = generateAccessToken();
  const [azurite, vault] = await Promise.all([
    startAzuriteInProcess(),
    startKeyVaultServer({
      port: 0,
      certDir: join(dir, 'certs'),
      principals: fleetPrincipals({ api: vaultToken, agent: agentVaultToken, operator: operatorVaultToken }),
    }),
  ]);
  await deployCommandSigningKey(vault);
  const config = parseConfig({
    AzureWebJobsStorage: azurite.connectionString,
    CCS_KEY_VAULT_URL: vault.url,
    CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
    CCS_KEY_VAULT_LOCAL_TOKEN: vaultToken,
    CCS_ALLOWED_LOCATIONS: JSON.stringify(TEST_LOCATIONS),
    CCS_API_KEYS: JSON.stringify([
      { name: 'writer', role: 'write', sha256: hashAccessToken(writeToken) },
      { name: 'reader', role: 'read', sha256: hashAccessToken(readToken) },
    ]),
    CCS_PREFLIGHT_TIMEOUT_SECONDS: String(options.preflightTimeoutSeconds ?? 5),
    // Many identity changes to one ccs-id here; the limit itself is tested on its own
    // (test/integration/identity-policy.test.ts).
    CCS_IDENTITY_CHANGES_PER_HOUR: '1000',
    ...options.env,
  });
  const logs: string[] = [];
  const log = jsonLineLogger((line) => logs.push(line));
  const { app, stores, storage, secrets } = createAppWiring(config, { log });
  setAppContext(app);
  const host = await startHttpHost({ port: 0, log });
  const route = queueRoutes.find((r) => r.queueName === REPORTS_QUEUE);
  if (!route) throw new Error('reports queue trigger is not registered');
  const trigger: RunningTrigger = startQueueTrigger(
    route,
    storage,
    { batchSize: 16, maxDequeueCount: 5, visibilityTimeoutSeconds: 0, maxPollingIntervalMs: 60_000 },
    log,
  );
  await trigger.stop(); // tests drain explicitly
  return {
    url: host.url,
    writeToken,
    readToken,
    app,
    stores,
    storage,
    secrets,
    azurite,
    vault,
    agentVaultToken,
    operatorVaultToken,
    logs,
    drainReports: async () => {
      let total = 0;
      for (let n = await trigger.drain(); n > 0; n = await trigger.drain()) total += n;
      return total;
    },
    enrolmentCode: async (ccsId) => {
      const res = await checkedFetch(
        `${host.url}/webserver/centralized-certificates/${ccsId}/enrolment-codes`,
        {
          method: 'POST',
          headers: { 'Access-Token': `Bearer ${writeToken}`, 'Content-Type': 'application/json' },
          body: '{}',
        },
      );
      if (res.status !== 201) throw new Error(`enrolment code: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { code: string }).code;
    },
    request: (method, path, init = {}) => {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? writeToken : init.token;
      if (token !== null) headers['Access-Token'] = `Bearer ${token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['Content-Type'] ??= 'application/json';
      }
      return checkedFetch(`${host.url}${path}`, { method, headers, body });
    },
    close: async () => {
      setAppContext(undefined);
      await new Promise<void>((resolve) => host.server.close(() => resolve()));
      await Promise.all([azurite.close(), vault.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readCa(harness: ApiHarness): string {
  return readFileSync(harness.vault.caCertPath, 'utf8');
}

/** A response body as JSON, typed loosely for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const readJson = (res: Response): Promise<any> => res.json();
