/**
 * Wiring: builds the services once per process from configuration. Handlers ask for the
 * AppContext — services only, never a store: what a handler may do is what a service offers.
 * The local host and the tests also get the stores and storage clients the services run on.
 */
import { readFileSync } from 'node:fs';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { ConfigError, parseConfig, type Config } from '../shared/config.js';
import { DomainError } from '../shared/errors.js';
import { createStorageClients, type StorageClients } from '../shared/adapters/storage.js';
import { createTableStores } from '../shared/adapters/table-stores.js';
import { QueueCommandBus } from '../shared/adapters/queue-command-bus.js';
import { StoragePoisonQueue } from '../shared/adapters/queue-poison.js';
import { CommandSigner, SigningCommandBus, type CommandSigningKey } from '../shared/signing.js';
import { commandSigningKey } from '../shared/adapters/keyvault-command-key.js';
import { createSecretClient, KeyVaultSecretStore } from '../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../shared/adapters/static-token-credential.js';
import { OperationEngine } from '../shared/services/operation-engine.js';
import { OperationService } from '../shared/services/operation-service.js';
import { ReportService } from '../shared/services/report-service.js';
import { EnrolmentService } from '../shared/services/enrolment-service.js';
import { ReportTrust } from '../shared/services/report-trust.js';
import { IdentityPolicy } from '../shared/services/identity-policy.js';
import { CcsService } from '../shared/services/ccs-service.js';
import { AuditLog } from '../shared/services/audit-log.js';
import { RolloutService } from '../shared/services/rollout-service.js';
import { InventoryService } from '../shared/services/inventory-service.js';
import { BindingsFolder } from '../shared/services/bindings-folder.js';
import { BindingsService } from '../shared/services/bindings-service.js';
import { CoverageService } from '../shared/services/coverage-service.js';
import { CoverageTelemetry } from '../shared/services/coverage-telemetry.js';
import { createAuthenticator, type Authenticator } from '../shared/auth/authenticate.js';
import { jsonLineLogger, type Logger } from '../shared/log.js';
import { REPORTS_QUEUE } from '../shared/names.js';
import {
  systemClock,
  type CertificateCatalog,
  type Clock,
  type SecretStore,
  type Stores,
} from '../shared/ports.js';
import { invocationLogger } from './invocation-log.js';
import { certificateCatalog, createPublishing, type Publishing } from './publishing-wiring.js';

/** What the handlers may use. */
export interface AppContext {
  config: Config;
  /** The centralized-certificates resource. */
  ccs: CcsService;
  /** Operations: read, wait, sweep. */
  operations: OperationService;
  /** Agent reports (the reports queue). */
  reports: ReportService;
  /** Every accepted change: who, when, what (GET /api/audit). */
  audit: AuditLog;
  /** Rollout policies and operators' resume/rollback of rollouts (docs/rollouts.md). */
  rollouts: RolloutService;
  /** The certificate inventory (/api/certificates) and its scan scheduling. */
  inventory: InventoryService;
  /** Hosts' CCS bindings and serving checks (issue 13). */
  bindings: BindingsService;
  /** Which share file serves each bound host name, per ccs-id. */
  coverage: CoverageService;
  /** The expiry and coverage events the alert rules count (functions/timer/coverage-telemetry.ts). */
  coverageTelemetry: CoverageTelemetry;
  /** Enrolment codes, pending hosts and approvals: which key speaks for which host. */
  enrolment: EnrolmentService;
  /** Key Vault certificates published to the shares: sources, runs, rotations (functions/publishing-wiring.ts). */
  publishing: Publishing;
  auth: Authenticator;
  log: Logger;
}

/** An AppContext and what it runs on (for the local host and tests, never for handlers). */
export interface AppWiring {
  app: AppContext;
  stores: Stores;
  storage: StorageClients;
  secrets: SecretStore;
}

/** One credential for the process: the user-assigned identity in Azure, or the local token. */
function azureCredential(config: Config): TokenCredential {
  const clientId = config.AzureWebJobsStorage__clientId ?? config.AZURE_CLIENT_ID;
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

export function createAppWiring(
  config: Config,
  overrides: {
    log?: Logger;
    secrets?: SecretStore;
    signingKey?: CommandSigningKey;
    catalog?: CertificateCatalog;
    /** The services' clock (the idle benchmark runs the API's faster, as it runs the agents'). */
    clock?: Clock;
  } = {},
): AppWiring {
  const clock = overrides.clock ?? systemClock;
  // Inside an invocation every line goes to its context.log (Application Insights), else here.
  const log = invocationLogger(
    overrides.log ?? jsonLineLogger((line) => process.stdout.write(line), { component: 'api' }),
  );
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
  const stores = createTableStores(storage);
  // Every command is signed with the Key Vault key (shared/signing.ts); agents refuse what is not.
  const signingKey = overrides.signingKey ?? commandSigningKey(config, credential);
  const bus = new SigningCommandBus(new QueueCommandBus(storage), new CommandSigner(signingKey));
  const engine = new OperationEngine(stores, bus, clock, log, {
    preflightTimeoutMs: config.CCS_PREFLIGHT_TIMEOUT_SECONDS * 1000,
    operationTimeoutMs: config.CCS_OPERATION_TIMEOUT_SECONDS * 1000,
  });
  const inventory = new InventoryService(stores, bus, clock, log, {
    intervalSeconds: config.CCS_INVENTORY_INTERVAL_SECONDS,
    warningDays: config.CCS_CERTIFICATE_EXPIRY_WARNING_DAYS,
  });
  const poison = new StoragePoisonQueue(storage, REPORTS_QUEUE);
  const rollouts = new RolloutService(stores, engine, clock, log);
  const bindings = new BindingsService(stores);
  const coverage = new CoverageService(bindings, inventory);
  // An approved host's pending hello is folded by the report service, built just below.
  const enrolment = new EnrolmentService(stores, clock, log, {
    foldHello: (hello) => app.reports.foldHello(hello),
  });
  const trust = new ReportTrust(enrolment, poison, log);
  const identities = new IdentityPolicy(
    stores.rateLimits,
    clock,
    {
      allowList: () => config.CCS_SHARE_IDENTITIES,
      changesPerHour: config.CCS_IDENTITY_CHANGES_PER_HOUR,
    },
    log,
  );
  const catalog = overrides.catalog ?? certificateCatalog(config, credential);
  const publishing = createPublishing({ config, stores, catalog, bus, engine, clock, log });
  const app: AppContext = {
    config,
    ccs: new CcsService(
      stores,
      secrets,
      engine,
      () => config.CCS_ALLOWED_LOCATIONS,
      log,
      identities,
      rollouts,
      publishing.rotations,
    ),
    rollouts,
    operations: new OperationService(engine, stores.operations, log),
    reports: new ReportService(
      stores,
      bus,
      poison,
      engine,
      clock,
      log,
      trust,
      inventory,
      new BindingsFolder(stores, log),
      publishing.folder,
    ),
    audit: new AuditLog(stores.audit, stores.operations),
    inventory,
    bindings,
    coverage,
    coverageTelemetry: new CoverageTelemetry(coverage, log),
    enrolment,
    publishing,
    auth: createAuthenticator(config),
    log,
  };
  return { app, stores, storage, secrets };
}

/** The process's services, or the configuration problem that stopped them from being built. */
let current: { app: AppContext } | { invalid: string } | undefined;

/**
 * Start-up, run by the Functions host's appStart hook (functions/startup.ts): parse the settings
 * and build the services before the first invocation. A bad setting is logged once, by name and
 * problem (never its value); the app then answers every request 503 naming "configuration"
 * until the setting is fixed (changing an app setting restarts the app).
 */
export function startApp(env: Record<string, string | undefined>, log: Logger): boolean {
  try {
    current = { app: createAppWiring(parseConfig(env)).app };
    return true;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error('configuration invalid: every request answers 503 until it is fixed', {
      setting: error.setting,
      problem: error.message,
    });
    current = { invalid: error.setting };
    return false;
  }
}

/** Whether the services could be built (false: a setting is invalid, logged at start). */
export function appConfigured(): boolean {
  return !(current && 'invalid' in current);
}

/** The services; a 503 naming `configuration` while a setting is invalid. */
export function getAppContext(): AppContext {
  // Without the appStart hook (an older host), the first invocation starts the app.
  if (current === undefined) startApp(process.env, stderrLog);
  if (current && 'app' in current) return current.app;
  throw new DomainError(
    'unavailable',
    'ConfigurationInvalid',
    "The service's configuration is invalid; its administrator finds the setting in the logs",
    'configuration',
  );
}

export function setAppContext(context: AppContext | undefined): void {
  current = context && { app: context };
}

/** Where start-up writes before any invocation exists (the Functions host collects stderr). */
export const stderrLog: Logger = jsonLineLogger((line) => process.stderr.write(line), { component: 'api' });
