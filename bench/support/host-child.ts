/**
 * The local host in a process of its own, as `npm start` runs it (local/stack.ts) minus the
 * emulator, the local Key Vault endpoint (vault-child.ts: Key Vault's CPU is not the API's) and
 * the fleet: the API on the route table's handlers (local/http-host.ts), the report processor
 * (the queue trigger with host.json's settings) and the operation sweeper. It counts its own storage requests (client side) and its memory, and
 * answers the benchmark over IPC.
 *
 * Options come as JSON in BENCH_HOST_OPTIONS (see HostOptions).
 */
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
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
import type { VaultInfo } from './vault-child.js';
import { RateClock } from './rate-clock.js';

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
  /** The local Key Vault endpoint (vault-child.ts) the API uses. */
  vault: VaultInfo;
}

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
const rss = rssSampler();
const counter = countStorageRequests(options);
const problems = problemLog();
/** The services' clock: real time unless the benchmark speeds it up (`clockRate`, idle.ts). */
const clock = new RateClock();
let server: Server | undefined;
let triggers: RunningTrigger[] = [];
let timers: { stop(): void } | undefined;

serveParent(
  async () => {
    const { vault } = options;
    const writeToken = generateAccessToken();
    const config = parseConfig({
      AzureWebJobsStorage: options.connectionString,
      CCS_KEY_VAULT_URL: vault.url,
      CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
      CCS_KEY_VAULT_LOCAL_TOKEN: vault.apiVaultToken,
      CCS_ALLOWED_LOCATIONS: JSON.stringify(options.allowedLocations),
      CCS_API_KEYS: JSON.stringify([{ name: 'bench', role: 'write', sha256: hashAccessToken(writeToken) }]),
      CCS_PREFLIGHT_TIMEOUT_SECONDS: String(options.preflightTimeoutSeconds),
      // Many identity changes to one ccs-id here; the limit itself is tested on its own
      // (test/integration/identity-policy.test.ts).
      CCS_IDENTITY_CHANGES_PER_HOUR: '1000',
      CCS_OPERATION_TIMEOUT_SECONDS: String(options.operationTimeoutSeconds),
    });
    const wiring = createAppWiring(config, { log: problems, clock });
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
      apiVaultToken: vault.apiVaultToken,
      agentVaultToken: vault.agentVaultToken,
    };
    return {
      info: () => info,
      stats: (): HostStats => ({
        counts: counter.snapshot(),
        rssPeak: rss.peak(),
        rssNow: process.memoryUsage.rss(),
        cpu: process.cpuUsage(),
        problems: problems.counts(),
      }),
      clockRate: (rate: unknown) => {
        clock.setRate(Number(rate));
        return true;
      },
      reset: () => {
        counter.reset();
        problems.reset();
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
  },
);
