/**
 * Wiring: builds the services once per process from configuration. Handlers ask for the
 * context; tests and the local host may install their own (same classes, other endpoints).
 */
import { readFileSync } from 'node:fs';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { getConfig, type Config } from '../shared/config.js';
import { createStorageClients, type StorageClients } from '../shared/adapters/storage.js';
import { TableRepositories } from '../shared/adapters/table-repositories.js';
import { QueueCommandBus } from '../shared/adapters/queue-command-bus.js';
import { CommandSigner, SigningCommandBus, type CommandSigningKey } from '../shared/signing.js';
import { commandSigningKey } from '../shared/adapters/keyvault-command-key.js';
import { createSecretClient, KeyVaultSecretStore } from '../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../shared/adapters/static-token-credential.js';
import { OperationEngine } from '../shared/services/operation-engine.js';
import { ReportService } from '../shared/services/report-service.js';
import { CcsService } from '../shared/services/ccs-service.js';
import { AuditLog } from '../shared/services/audit-log.js';
import { InventoryService } from '../shared/services/inventory-service.js';
import { InventoryRepository } from '../shared/adapters/inventory-repository.js';
import { createAuthenticator, type Authenticator } from '../shared/auth/authenticate.js';
import { jsonLineLogger, type Logger } from '../shared/log.js';
import { systemClock, type SecretStore } from '../shared/ports.js';

export interface AppContext {
  config: Config;
  storage: StorageClients;
  repos: TableRepositories;
  secrets: SecretStore;
  engine: OperationEngine;
  ccs: CcsService;
  reports: ReportService;
  /** Every accepted change: who, when, what (GET /api/audit). */
  audit: AuditLog;
  inventory: InventoryService;
  auth: Authenticator;
  log: Logger;
}

/** One credential for the process: the user-assigned identity in Azure, or the local token. */
function azureCredential(config: Config): TokenCredential {
  const clientId = config.AzureWebJobsStorage__clientId ?? config.AZURE_CLIENT_ID;
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

export function createAppContext(
  config: Config,
  overrides: { log?: Logger; secrets?: SecretStore; signingKey?: CommandSigningKey } = {},
): AppContext {
  const log = overrides.log ?? jsonLineLogger((line) => process.stdout.write(line), { component: 'api' });
  const credential = azureCredential(config);
  const storage = createStorageClients(
    config.AzureWebJobsStorage
      ? { connectionString: config.AzureWebJobsStorage }
      : {
          queueServiceUri: config.AzureWebJobsStorage__queueServiceUri ?? '',
          tableServiceUri: config.AzureWebJobsStorage__tableServiceUri ?? '',
          credential,
        },
  );
  const secrets =
    overrides.secrets ??
    new KeyVaultSecretStore(
      config.CCS_KEY_VAULT_CA_FILE
        ? createSecretClient({
            vaultUrl: config.CCS_KEY_VAULT_URL,
            credential: new StaticTokenCredential(config.CCS_KEY_VAULT_LOCAL_TOKEN ?? ''),
            caCertPem: readFileSync(config.CCS_KEY_VAULT_CA_FILE, 'utf8'),
          })
        : createSecretClient({ vaultUrl: config.CCS_KEY_VAULT_URL, credential }),
    );
  const repos = new TableRepositories(storage);
  // Every command is signed with the Key Vault key (shared/signing.ts); agents refuse what is not.
  const signingKey = overrides.signingKey ?? commandSigningKey(config, credential);
  const bus = new SigningCommandBus(new QueueCommandBus(storage), new CommandSigner(signingKey));
  const audit = new AuditLog(storage, systemClock);
  const engine = new OperationEngine(repos, bus, systemClock, log, {
    audit,
    preflightTimeoutMs: config.CCS_PREFLIGHT_TIMEOUT_SECONDS * 1000,
    operationTimeoutMs: config.CCS_OPERATION_TIMEOUT_SECONDS * 1000,
  });
  const inventory = new InventoryService(repos, new InventoryRepository(storage), bus, systemClock, log, {
    intervalSeconds: config.CCS_INVENTORY_INTERVAL_SECONDS,
    warningDays: config.CCS_CERTIFICATE_EXPIRY_WARNING_DAYS,
  });
  return {
    config,
    storage,
    repos,
    secrets,
    engine,
    ccs: new CcsService(repos, secrets, engine, () => config.CCS_ALLOWED_LOCATIONS, log),
    reports: new ReportService(repos, bus, engine, systemClock, log, inventory),
    inventory,
    audit,
    auth: createAuthenticator(config),
    log,
  };
}

let current: AppContext | undefined;

export function getAppContext(): AppContext {
  current ??= createAppContext(getConfig());
  return current;
}

export function setAppContext(context: AppContext | undefined): void {
  current = context;
}
