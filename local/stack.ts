/**
 * The whole system on one machine: Azurite (queues, tables) as child processes with data under
 * `.local/`, the local Key Vault endpoint, the API and the report processor on the same
 * handlers the Function App registers, a seeded demo share and a simulated fleet of agents.
 * When all hosts have enrolled it writes `.local/stack.json` (mode 0600). A stage that fails
 * stops everything started so far and rejects with a StartFailure (local/stages.ts).
 */
import { chmodSync, createWriteStream, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnAzurite } from './azurite.js';
import { startKeyVaultServer } from './keyvault/server.js';
import { deployCommandSigningKey, fleetPrincipals } from './keyvault/fleet-roles.js';
import { seedDemoShare } from './demo-share.js';
import { loadOrCreateStackSecrets } from './stack-secrets.js';
import { portOr } from './ports.js';
import { startHttpHost } from './http-host.js';
import { queueSettingsFromHostJson, startQueueTrigger, startTimers } from './queue-host.js';
import { startFleet } from './agents.js';
import { enrolmentCodes, isEnrolled, localStateDir, type EnrolmentCheck } from './enrol-hosts.js';
import { ensureConsoleBuilt } from './console-build.js';
import { createAppWiring, setAppContext } from '../functions/app-context.js';
import { queueRoutes, timerRoutes } from '../functions/index.js';
import { parseConfig } from '../shared/config.js';
import type { AllowedLocation } from '../shared/paths.js';
import { hashAccessToken } from '../shared/auth/access-tokens.js';
import { jsonLineLogger } from '../shared/log.js';
import { silentProgress, type StartProgress } from './progress.js';
import { runStage, waitForEnrolment, type StageContext } from './stages.js';

export interface StackOptions {
  /** Folder for data, logs and stack.json (`.local` under the project). */
  dir: string;
  port: number;
  queuePort?: number;
  tablePort?: number;
  keyVaultPort?: number;
  ccsId?: string;
  hosts?: string[];
  /**
   * Give each simulated host the demo HTTPS sites bound through CCS (local/demo-sites.ts);
   * true unless turned off (CCS_LOCAL_DEMO_SITES=0: servers with no CCS site, like the test
   * server IIS Administration's own suite runs on).
   */
  demoSites?: boolean;
  /** Told about each stage as it starts and ends (default: nothing is printed). */
  progress?: StartProgress;
}

export interface StackInfo {
  api: string;
  accessToken: string;
  readOnlyToken: string;
  storage: { connectionString: string };
  /** `operatorToken`: creates and imports certificates (the publishing sources' Key Vault side). */
  keyVault: { url: string; caCertPath: string; operatorToken: string };
  logs: string;
  ccsId: string;
  hosts: string[];
  share: { path: string; username: string; password: string; privateKeyPassword: string; folder: string };
}

export interface RunningStack {
  info: StackInfo;
  stop(): Promise<void>;
}

const PROJECT = resolve(new URL('..', import.meta.url).pathname);

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const dir = resolve(options.dir);
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const ccsId = options.ccsId ?? 'default';
  const hosts = options.hosts ?? ['web-01', 'web-02'];
  const apiLogFile = join(logs, 'api.log');
  const apiLog = createWriteStream(apiLogFile, { flags: 'a' });
  const log = jsonLineLogger((line) => apiLog.write(line), { component: 'local' });
  const secrets = loadOrCreateStackSecrets(join(dir, 'stack-secrets.json'));
  const queuePort = await portOr(options.queuePort);
  const tablePort = await portOr(options.tablePort);
  const stages: StageContext = {
    progress: options.progress ?? silentProgress,
    log,
    ports: [
      { setting: 'PORT', role: 'the API', port: options.port },
      { setting: 'CCS_QUEUE_PORT', role: "Azurite's queue service", port: queuePort },
      { setting: 'CCS_TABLE_PORT', role: "Azurite's table service", port: tablePort },
      { setting: 'CCS_KEYVAULT_PORT', role: 'the local Key Vault', port: options.keyVaultPort ?? 0 },
    ],
  };
  // Undo what has started if a later step fails, so no orphan process outlives a failed start.
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const azurite = await runStage(
      stages,
      'storage',
      join(logs, 'azurite.log'),
      () =>
        spawnAzurite({
          location: join(dir, 'azurite'),
          queuePort,
          tablePort,
          logFile: join(logs, 'azurite.log'),
        }),
      (started) => `Azurite, queues on port ${started.queuePort}, tables on port ${started.tablePort}`,
    );
    cleanups.push(() => azurite.close());
    const vault = await runStage(
      stages,
      'Key Vault',
      apiLogFile,
      async () => {
        // The API and the agents each have their own token and roles: agents cannot sign commands.
        const started = await startKeyVaultServer({
          port: options.keyVaultPort ?? 0,
          dataFile: join(dir, 'keyvault.json'),
          certDir: join(dir, 'certs'),
          // The agents are this ccs-id's group: its two secrets and its sources' certificates
          // (named ccs-<ccs-id>--…), no other's (fleetAgentRoles; CCS_AGENT_ACCESS below).
          principals: fleetPrincipals(
            {
              api: secrets.apiVaultToken,
              agent: secrets.agentVaultToken,
              operator: secrets.operatorVaultToken,
            },
            ccsId,
          ),
          // Key Vault's documented per-vault limits, as in Azure (local/keyvault/throttle.ts).
          throttle: {},
        });
        await deployCommandSigningKey(started).catch(async (error: unknown) => {
          await started.close();
          throw error;
        });
        return started;
      },
      (started) => started.url,
    );
    cleanups.push(() => vault.close());
    const shareRoot = join(dir, 'shares');
    const share = await runStage(
      stages,
      'demo share',
      apiLogFile,
      () => seedDemoShare({ shareRoot, privateKeyPassword: secrets.privateKeyPassword }),
      (seeded) =>
        `${seeded.path}, ${readdirSync(seeded.folder).filter((f) => f.endsWith('.pfx')).length} PFX files`,
    );
    const allowed: AllowedLocation[] = [{ path: share.path, claims: ['read', 'write'] }];

    const config = parseConfig({
      AzureWebJobsStorage: azurite.connectionString,
      CCS_KEY_VAULT_URL: vault.url,
      CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
      CCS_KEY_VAULT_LOCAL_TOKEN: secrets.apiVaultToken,
      CCS_ALLOWED_LOCATIONS: process.env.CCS_ALLOWED_LOCATIONS ?? JSON.stringify(allowed),
      CCS_API_KEYS: JSON.stringify([
        { name: 'local-admin', role: 'write', sha256: hashAccessToken(secrets.writeToken) },
        { name: 'local-reader', role: 'read', sha256: hashAccessToken(secrets.readToken) },
      ]),
      CCS_PREFLIGHT_TIMEOUT_SECONDS: process.env.CCS_PREFLIGHT_TIMEOUT_SECONDS ?? '15',
      CCS_OPERATION_TIMEOUT_SECONDS: process.env.CCS_OPERATION_TIMEOUT_SECONDS ?? '120',
      // A demo shows the share's certificates seconds after enabling; Azure's default is 300.
      CCS_INVENTORY_INTERVAL_SECONDS: process.env.CCS_INVENTORY_INTERVAL_SECONDS ?? '5',
      CCS_CERTIFICATE_EXPIRY_WARNING_DAYS: process.env.CCS_CERTIFICATE_EXPIRY_WARNING_DAYS ?? '30',
      // The fleet the agents enrol in is the one IIS Administration clients address without an id.
      CCS_DEFAULT_ID: ccsId,
      // Identity abuse limits as in Azure (default 10 changes an hour); a long run may raise them.
      CCS_SHARE_IDENTITIES: process.env.CCS_SHARE_IDENTITIES,
      CCS_IDENTITY_CHANGES_PER_HOUR: process.env.CCS_IDENTITY_CHANGES_PER_HOUR,
      // The agents are a per-ccs-id group (above): sources are held to its name rule.
      CCS_AGENT_ACCESS: 'per-ccs-id',
    });
    // The API's lines: outside invocations directly, inside them through each invocation's log,
    // which the local host writes to the same file (as the Functions host sends them on).
    const functionsLog = jsonLineLogger((line) => apiLog.write(line), { component: 'api' });
    const wiring = createAppWiring(config, { log: functionsLog });
    setAppContext(wiring.app);
    const http = await runStage(
      stages,
      'API',
      apiLogFile,
      () => startHttpHost({ port: options.port, log: functionsLog }),
      (started) => started.url,
    );
    cleanups.push(() => new Promise<void>((done) => http.server.close(() => done())));
    // The operator console on the same route as in Azure (built here only when its sources changed).
    await runStage(
      stages,
      'console',
      apiLogFile,
      ensureConsoleBuilt,
      ({ built }) => `${http.url}/console/${built ? ' (built)' : ''}`,
    );
    const settings = queueSettingsFromHostJson(join(PROJECT, 'host.json'));
    const triggers = queueRoutes.map((route) =>
      startQueueTrigger(route, wiring.storage, settings, functionsLog),
    );
    const timers = startTimers(timerRoutes, functionsLog);
    cleanups.push(
      () => timers.stop(),
      async () => void (await Promise.all(triggers.map((t) => t.stop()))),
    );
    await runStage(
      stages,
      'agents',
      logs,
      async () => {
        // Hosts enrol as new servers do: a one-time code each, from the API (local/enrol-hosts.ts).
        const check: EnrolmentCheck = {
          registered: async (host) =>
            (await wiring.app.enrolment.registration(ccsId, host))?.record.thumbprint ?? null,
          stateDir: (host) => localStateDir(dir, host),
        };
        const codes = await enrolmentCodes({ url: http.url, token: secrets.writeToken, ccsId }, hosts, check);
        const fleet = startFleet(
          {
            dir,
            logs,
            ccsId,
            hosts,
            connectionString: azurite.connectionString,
            vaultUrl: vault.url,
            caCertFile: vault.caCertPath,
            vaultToken: secrets.agentVaultToken,
            shareRoot,
            allowedLocations: allowed,
            demoSites: options.demoSites ?? true,
            enrolmentCodes: codes,
          },
          log,
        );
        cleanups.push(() => fleet.stop());
        await waitForEnrolment({
          hostStore: wiring.stores.hosts,
          ccsId,
          hosts,
          timeoutMs: 60_000,
          logs,
          onCount: (enrolled) => stages.progress.update('agents', `${enrolled}/${hosts.length} enrolled`),
          isEnrolled: (host) => isEnrolled(check, host),
        });
      },
      () => `${hosts.length}/${hosts.length} enrolled (${hosts.join(', ')})`,
    );

    const info: StackInfo = {
      api: http.url,
      accessToken: secrets.writeToken,
      readOnlyToken: secrets.readToken,
      storage: { connectionString: azurite.connectionString },
      keyVault: { url: vault.url, caCertPath: vault.caCertPath, operatorToken: secrets.operatorVaultToken },
      logs,
      ccsId,
      hosts,
      share: {
        path: share.path,
        username: share.username,
        password: share.password,
        privateKeyPassword: share.privateKeyPassword,
        folder: share.folder,
      },
    };
    const stackFile = join(dir, 'stack.json');
    writeFileSync(stackFile, JSON.stringify(info, null, 2), { mode: 0o600 });
    chmodSync(stackFile, 0o600);

    return { info, stop: () => unwind(cleanups, apiLog) };
  } catch (error) {
    await unwind(cleanups, apiLog);
    throw error;
  }
}

/** Stop what started, newest first. */
async function unwind(
  cleanups: (() => Promise<void> | void)[],
  apiLog: NodeJS.WritableStream,
): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      // keep stopping the rest
    }
  }
  setAppContext(undefined);
  await new Promise<void>((done) => apiLog.end(done));
}
