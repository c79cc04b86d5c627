/**
 * The local host in a process of its own, as `npm start` runs it (local/stack.ts) minus the
 * emulator and the fleet: the local Key Vault endpoint, the API on the route table's handlers
 * (local/http-host.ts), the report processor (the queue trigger with host.json's settings) and
 * the operation sweeper. It counts its own storage requests (client side) and its memory, and
 * answers the benchmark over IPC.
 *
 * Options come as JSON in BENCH_HOST_OPTIONS (see HostOptions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import type { ThrottleOptions } from '../../local/keyvault/throttle.js';
import { deployCommandSigningKey, fleetPrincipals } from '../../local/keyvault/fleet-roles.js';
import { startHttpHost } from '../../local/http-host.js';
import {
  queueSettingsFromHostJson,
  startQueueTrigger,
  startTimers,
  type RunningTrigger,
} from '../../local/queue-host.js';
import { createAppWiring, setAppContext } from '../../functions/app-context.js';
import { TABLE_NAMES } from '../../shared/adapters/table-support.js';
import { queueRoutes, timerRoutes } from '../../functions/index.js';
import { parseConfig } from '../../shared/config.js';
import type { AllowedLocation } from '../../shared/paths.js';
import { generateAccessToken, hashAccessToken } from '../../shared/auth/access-tokens.js';
import { countStorageRequests } from './http-counter.js';
import { problemLog } from './problems.js';
import { rssSampler, serveParent } from './child.js';

export interface HostOptions {
  connectionString: string;
  queuePort: number;
  tablePort: number;
  allowedLocations: AllowedLocation[];
  preflightTimeoutSeconds: number;
  operationTimeoutSeconds: number;
  /** Run the operation sweeper (every second, as the local stack does). */
  timers: boolean;
  /** Run the report processor. */
  reports: boolean;
  /** The report trigger's longest idle poll (host.json `maxPollingInterval` when absent). */
  reportPollMaxMs?: number;
  /** Key Vault's rate limits on the local vault (local/keyvault/throttle.ts); none when absent. */
  keyVaultThrottle?: BenchThrottle;
}

/** The JSON-transferable part of the local vault's throttle options. */
export type BenchThrottle = Pick<ThrottleOptions, 'scale' | 'limits' | 'windowMs'>;

export interface HostInfo {
  api: string;
  writeToken: string;
  vaultUrl: string;
  caCertPath: string;
  /** The API's vault token (it writes secrets, signs commands); the bare calls play the API. */
  apiVaultToken: string;
  agentVaultToken: string;
}

export interface HostStats {
  counts: Record<string, number>;
  vault: Record<string, number>;
  rssPeak: number;
  rssNow: number;
  cpu: NodeJS.CpuUsage;
  /** Warnings and errors the host logged, by message. */
  problems: Record<string, number>;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { statusCode?: unknown }).statusCode;
  return `${error.name}${typeof status === 'number' ? ` ${status}` : ''}: ${error.message}`;
}

const options = JSON.parse(process.env.BENCH_HOST_OPTIONS ?? '{}') as HostOptions;
const PROJECT = resolve(new URL('../..', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'ccs-bench-host-'));
const rss = rssSampler();
const counter = countStorageRequests(options);
const problems = problemLog();
let vault: LocalKeyVault | undefined;
let server: Server | undefined;
let triggers: RunningTrigger[] = [];
let timers: { stop(): void } | undefined;

serveParent(
  async () => {
    const apiVaultToken = generateAccessToken();
    const agentVaultToken = generateAccessToken();
    const writeToken = generateAccessToken();
    vault = await startKeyVaultServer({
      port: 0,
      certDir: join(dir, 'certs'),
      principals: fleetPrincipals({ api: apiVaultToken, agent: agentVaultToken }),
      ...(options.keyVaultThrottle && { throttle: options.keyVaultThrottle }),
    });
    await deployCommandSigningKey(vault);
    const config = parseConfig({
      AzureWebJobsStorage: options.connectionString,
      CCS_KEY_VAULT_URL: vault.url,
      CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
      CCS_KEY_VAULT_LOCAL_TOKEN: apiVaultToken,
      CCS_ALLOWED_LOCATIONS: JSON.stringify(options.allowedLocations),
      CCS_API_KEYS: JSON.stringify([{ name: 'bench', role: 'write', sha256: hashAccessToken(writeToken) }]),
      CCS_PREFLIGHT_TIMEOUT_SECONDS: String(options.preflightTimeoutSeconds),
      // Many identity changes to one ccs-id here; the limit itself is tested on its own
      // (test/integration/identity-policy.test.ts).
      CCS_IDENTITY_CHANGES_PER_HOUR: '1000',
      CCS_OPERATION_TIMEOUT_SECONDS: String(options.operationTimeoutSeconds),
    });
    const wiring = createAppWiring(config, { log: problems });
    setAppContext(wiring.app);
    // The tables exist before the first timed request, as they do in a warm Function App.
    await Promise.all(Object.values(TABLE_NAMES).map((name) => wiring.storage.table(name).createTable()));
    const http = await startHttpHost({ port: 0, log: problems });
    server = http.server;
    if (options.reports) {
      const fromHostJson = queueSettingsFromHostJson(join(PROJECT, 'host.json'));
      const settings = {
        ...fromHostJson,
        maxPollingIntervalMs: options.reportPollMaxMs ?? fromHostJson.maxPollingIntervalMs,
      };
      triggers = queueRoutes.map((route) =>
        startQueueTrigger(
          {
            ...route,
            // The local trigger logs that a handler failed, not why: note the cause here.
            handler: async (message, context) => {
              try {
                await route.handler(message, context);
              } catch (error) {
                problems.error(`${route.name} failed`, { error: describe(error) });
                throw error;
              }
            },
          },
          wiring.storage,
          settings,
          problems,
        ),
      );
    }
    if (options.timers) timers = startTimers(timerRoutes, problems);
    const info: HostInfo = {
      api: http.url,
      writeToken,
      vaultUrl: vault.url,
      caCertPath: vault.caCertPath,
      apiVaultToken,
      agentVaultToken,
    };
    return {
      info: () => info,
      stats: (): HostStats => ({
        counts: counter.snapshot(),
        vault: vault?.stats() ?? {},
        rssPeak: rss.peak(),
        rssNow: process.memoryUsage.rss(),
        cpu: process.cpuUsage(),
        problems: problems.counts(),
      }),
      reset: () => {
        counter.reset();
        problems.reset();
        vault?.resetStats();
        rss.reset();
        return true;
      },
    };
  },
  async () => {
    timers?.stop();
    await Promise.all(triggers.map((t) => t.stop()));
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    server?.closeAllConnections();
    await vault?.close();
    rmSync(dir, { recursive: true, force: true });
  },
);
