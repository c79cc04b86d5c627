/**
 * The whole system with real processes, for fault injection: Azurite's queue and table servers
 * as child processes persisting to disk (so they can be stopped and restarted), the local Key
 * Vault (faults injectable), the API, report processor and sweeper on the same handlers the
 * Function App registers (in this process), a demo share seeded with known secret values, and
 * one real agent process per host — each can be killed, paused (SIGSTOP) or armed to SIGKILL
 * itself at a named step (agent/crash-points.ts), and is restarted when it dies, as the Windows
 * service manager would.
 *
 * Everything that could leak a secret is kept for the canary scan: the data directory (Azurite's
 * files, logs, agent state), every HTTP response body, every report message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Server } from 'node:http';
import { spawnAzurite, type SpawnedAzurite } from '../../../local/azurite.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../../local/keyvault/server.js';
import { deployCommandSigningKey, fleetPrincipals } from '../../../local/keyvault/fleet-roles.js';
import { DEMO_SHARE, seedDemoShare, type DemoShare } from '../../../local/demo-share.js';
import { createShareAccount } from '../../../agent/backends/simulated.js';
import { freePort } from '../../../local/ports.js';
import { startHttpHost } from '../../../local/http-host.js';
import { startQueueTrigger, startTimers, type RunningTrigger } from '../../../local/queue-host.js';
import { checkedFetch } from '../../support/openapi-validator.js';
import { createAppWiring, setAppContext, type AppContext } from '../../../functions/app-context.js';
import type { StorageClients } from '../../../shared/adapters/storage.js';
import type { Stores } from '../../../shared/ports.js';
import { queueRoutes, timerRoutes } from '../../../functions/index.js';
import { parseConfig } from '../../../shared/config.js';
import type { AllowedLocation } from '../../../shared/paths.js';
import { generateAccessToken, hashAccessToken } from '../../../shared/auth/access-tokens.js';
import { jsonLineLogger } from '../../../shared/log.js';
import { CRASH_ENV, CRASH_FILE_ENV, type CrashStep } from '../../../agent/crash-points.js';
import { createSecretClient } from '../../../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../../../shared/adapters/static-token-credential.js';

const PROJECT = new URL('../../..', import.meta.url).pathname;

export interface AgentProcess {
  host: string;
  child: ChildProcess;
  /** Every exit so far: code and signal (a crash point shows as SIGKILL). */
  exits: { code: number | null; signal: NodeJS.Signals | null }[];
  lives: number;
  configFile: string;
  stateDir: string;
  registryDir: string;
  logFile: string;
}

export interface FaultStack {
  dir: string;
  api: string;
  writeToken: string;
  readToken: string;
  app: AppContext;
  /** What the services run on: for assertions and injected messages, never for driving the API. */
  stores: Stores;
  storage: StorageClients;
  vault: LocalKeyVault;
  /** `operator`: creates and imports certificates (the publishing sources' Key Vault side). */
  vaultTokens: { api: string; agent: string; operator: string };
  /** The one-time code each host enrolled with (in its agent.json only). */
  enrolmentCodes: ReadonlyMap<string, string>;
  azurite: { connectionString: string; stop(): Promise<void>; start(): Promise<void> };
  share: DemoShare;
  /** The folder behind `C:\ccs` on every simulated host. */
  localFolder: string;
  ccsId: string;
  hosts: string[];
  agents: Map<string, AgentProcess>;
  /** Every API log line. */
  apiLog: string[];
  /** Every response body the tests received through `request`. */
  responses: string[];
  /** Every message the report processor was handed (as it was handed: decoded). */
  reportsSeen: unknown[];
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; token?: string },
  ): Promise<{ status: number; text: string; json: () => Record<string, unknown>; headers: Headers }>;
  /**
   * Arm a running agent to SIGKILL itself once at `step` (for commands of `type`, and of
   * `generation` when given); it is then restarted.
   */
  arm(host: string, step: CrashStep, type?: string, generation?: number): Promise<void>;
  /** Stop (SIGTERM, wait) and start again without any crash point. */
  restartAgent(host: string): Promise<void>;
  /** Keep a host down once it dies (no restart) — a server that stays off — until `release`. */
  hold(host: string): void;
  /** Start a held host again. */
  release(host: string): void;
  pause(host: string): void;
  resume(host: string): void;
  waitFor<T>(
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    what: string,
    ms?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

/** How the soak shapes the fleet (the fault suite takes the defaults). */
export interface FleetOptions {
  /** A host's allow-list (default: the share and `C:\\ccs`). */
  allowedLocations?: (host: string, defaults: AllowedLocation[]) => AllowedLocation[];
  /** Agent settings merged over the fault suite's fast ones (poll intervals, visibility…). */
  agentSettings?: Record<string, number>;
  /** Extra `--import` modules for each agent process (fault preloads) and their environment. */
  agentImports?: string[];
  agentEnv?: (host: string, home: string) => Record<string, string>;
  /** Told about every message the report processor is handed, as it is handed. */
  onReport?: (message: unknown) => void;
}

export async function startFaultStack(options: {
  hosts: string[];
  ccsId?: string;
  privateKeyPassword: string;
  sharePassword: string;
  preflightTimeoutSeconds?: number;
  operationTimeoutSeconds?: number;
  /** CCS_INVENTORY_INTERVAL_SECONDS (the scanner's and publisher's hand-over unit); default 300. */
  inventoryIntervalSeconds?: number;
  /** The soak (test/soak/) shapes its fleet: per-host allow-lists, slower polling, preloads. */
  fleet?: FleetOptions;
}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), 'ccs-faults-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const ccsId = options.ccsId ?? 'default';
  const apiLog: string[] = [];
  const apiLogFile = join(logs, 'api.log');
  const log = jsonLineLogger((line) => {
    apiLog.push(line);
    appendFileSync(apiLogFile, line);
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // keep closing the rest
      }
    }
  };
  // Whatever fails while starting, nothing started so far is left running.
  try {
    // Storage: the Azurite CLIs, persisting to disk, restartable on the same ports.
    const ports = { queue: await freePort(), table: await freePort() };
    // The demo share's certificates (openssl) are made while the servers start.
    const shareRoot = join(dir, 'shares');
    const seeding = seedDemoShare({ shareRoot, privateKeyPassword: options.privateKeyPassword });
    let azurite: SpawnedAzurite | null = null;
    const startAzurite = async () => {
      azurite = await spawnAzurite({
        location: join(dir, 'azurite'),
        queuePort: ports.queue,
        tablePort: ports.table,
        logFile: join(logs, 'azurite.log'),
        // A loaded CI machine can take a while to start two Node servers.
        startTimeoutMs: 60_000,
      });
    };
    const stopAzurite = async () => {
      const running = azurite;
      azurite = null;
      await running?.close();
    };
    const vaultTokens = {
      api: generateAccessToken(),
      agent: generateAccessToken(),
      operator: generateAccessToken(),
    };
    const [, vault] = await Promise.all([
      startAzurite(),
      startKeyVaultServer({
        port: 0,
        dataFile: join(dir, 'keyvault.json'),
        certDir: join(dir, 'certs'),
        principals: fleetPrincipals(vaultTokens),
      }),
    ]);
    await deployCommandSigningKey(vault);
    cleanups.push(stopAzurite, () => vault.close());
    const connectionString = azurite!.connectionString;

    // The share, and a local folder (`C:\ccs`, no share account to check: cheap to preflight).
    const allowed: AllowedLocation[] = [
      { path: `\\\\localhost\\${DEMO_SHARE}`, claims: ['read'] },
      { path: 'C:\\ccs', claims: ['read'] },
    ];
    mkdirSync(join(shareRoot, 'drives', 'C', 'ccs'), { recursive: true });

    const writeToken = generateAccessToken();
    const readToken = generateAccessToken();
    const config = parseConfig({
      AzureWebJobsStorage: connectionString,
      CCS_KEY_VAULT_URL: vault.url,
      CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
      CCS_KEY_VAULT_LOCAL_TOKEN: vaultTokens.api,
      CCS_ALLOWED_LOCATIONS: JSON.stringify(allowed),
      CCS_API_KEYS: JSON.stringify([
        { name: 'fault-admin', role: 'write', sha256: hashAccessToken(writeToken) },
        { name: 'fault-reader', role: 'read', sha256: hashAccessToken(readToken) },
      ]),
      CCS_PREFLIGHT_TIMEOUT_SECONDS: String(options.preflightTimeoutSeconds ?? 20),
      CCS_OPERATION_TIMEOUT_SECONDS: String(options.operationTimeoutSeconds ?? 90),
      CCS_INVENTORY_INTERVAL_SECONDS: String(options.inventoryIntervalSeconds ?? 300),
      // Many identity changes to one ccs-id here; the limit itself is tested on its own
      // (test/integration/identity-policy.test.ts).
      CCS_IDENTITY_CHANGES_PER_HOUR: '1000',
    });
    const { app, stores, storage } = createAppWiring(config, { log });
    // Each host enrols as a new server does: with a one-time code of its own (the API keeps its
    // hash; the code is in that agent's configuration only).
    const enrolmentCodes = new Map<string, string>();
    for (const host of options.hosts) {
      const { code } = await app.enrolment.createCode(ccsId, 60, { id: 'access-token:fault-admin' });
      enrolmentCodes.set(host, code);
    }

    // The fleet: one agent process per host, started now — they boot while the API comes up and
    // keep saying hello until it answers.
    const agents = new Map<string, AgentProcess>();
    let stopping = false;
    const held = new Set<string>();
    const armFile = (host: string) => join(dir, 'agents', `${host}.crash`);
    const configFor = (host: string) => {
      const home = join(dir, 'agents', host);
      mkdirSync(home, { recursive: true });
      const file = join(home, 'agent.json');
      writeFileSync(
        file,
        JSON.stringify({
          ccsId,
          hostName: host,
          storage: { connectionString },
          keyVault: { url: vault.url, caCertFile: vault.caCertPath, localToken: vaultTokens.agent },
          backend: 'simulated',
          allowedLocations: options.fleet?.allowedLocations?.(host, allowed) ?? allowed,
          pollMinSeconds: 0.05,
          pollMaxSeconds: 0.3,
          helloIntervalSeconds: 20,
          driftIntervalSeconds: 30,
          visibilityTimeoutSeconds: 2,
          ...options.fleet?.agentSettings,
          stateDir: join(home, 'state'),
          simulated: { stateDir: join(home, 'registry'), shareRoot },
          enrolmentCode: enrolmentCodes.get(host),
        }),
        { mode: 0o600 },
      );
      return { file, home };
    };
    const launch = (host: string, crash?: string): AgentProcess => {
      const { file, home } = configFor(host);
      const logFile = join(logs, `agent-${host}.log`);
      const out = openSync(logFile, 'a');
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...options.fleet?.agentEnv?.(host, home),
        [CRASH_FILE_ENV]: armFile(host),
      };
      delete env[CRASH_ENV];
      if (crash) env[CRASH_ENV] = crash;
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          ...(options.fleet?.agentImports ?? []).flatMap((m) => ['--import', m]),
          join(PROJECT, 'agent/main.ts'),
          'run',
          '--config',
          file,
        ],
        {
          cwd: PROJECT,
          env,
          stdio: ['ignore', out, out],
        },
      );
      const previous = agents.get(host);
      const agent: AgentProcess = previous ?? {
        host,
        child,
        exits: [],
        lives: 0,
        configFile: file,
        stateDir: join(home, 'state'),
        registryDir: join(home, 'registry'),
        logFile,
      };
      agent.child = child;
      agent.lives += 1;
      agents.set(host, agent);
      child.once('exit', (code, signal) => {
        agent.exits.push({ code, signal });
        if (stopping || agent.child !== child || (child as { intentional?: boolean }).intentional) return;
        if (held.has(host)) return;
        // The service manager restarts a dead agent, without the crash point.
        setTimeout(() => !stopping && agent.child === child && launch(host), 300);
      });
      return agent;
    };
    const stopAgent = (host: string) =>
      new Promise<void>((resolve) => {
        const child = agents.get(host)?.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
        (child as { intentional?: boolean }).intentional = true;
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      });
    options.hosts.forEach((h) => launch(h));
    cleanups.push(async () => {
      stopping = true;
      await Promise.all(options.hosts.map(stopAgent));
    });

    const seeded = await seeding;
    await createShareAccount(shareRoot, seeded.username, options.sharePassword, [DEMO_SHARE]);
    const share: DemoShare = { ...seeded, password: options.sharePassword };

    setAppContext(app);
    const http: { server: Server; url: string } = await startHttpHost({ port: 0, log });
    cleanups.push(() => {
      http.server.closeAllConnections();
      return new Promise<void>((resolve) => http.server.close(() => resolve()));
    });

    const reportsSeen: unknown[] = [];
    const triggers: RunningTrigger[] = queueRoutes.map((route) =>
      startQueueTrigger(
        {
          ...route,
          handler: (message, context) => {
            reportsSeen.push(message);
            options.fleet?.onReport?.(message);
            return route.handler(message, context);
          },
        },
        storage,
        { batchSize: 16, maxDequeueCount: 5, visibilityTimeoutSeconds: 1, maxPollingIntervalMs: 200 },
        log,
      ),
    );
    const timers = startTimers(timerRoutes, log);
    cleanups.push(
      () => timers.stop(),
      async () => void (await Promise.all(triggers.map((t) => t.stop()))),
    );

    const waitFor: FaultStack['waitFor'] = async (probe, what, ms = 30_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await delay(100);
      }
    };

    const responses: string[] = [];
    const stack: FaultStack = {
      dir,
      api: http.url,
      writeToken,
      readToken,
      app,
      stores,
      storage,
      vault,
      vaultTokens,
      enrolmentCodes,
      azurite: { connectionString, stop: stopAzurite, start: startAzurite },
      share,
      localFolder: join(shareRoot, 'drives', 'C', 'ccs'),
      ccsId,
      hosts: options.hosts,
      agents,
      apiLog,
      responses,
      reportsSeen,
      async request(method, path, init = {}) {
        const headers: Record<string, string> = {
          'Access-Token': `Bearer ${init.token ?? writeToken}`,
          ...init.headers,
        };
        let body: string | undefined;
        if (init.body !== undefined) {
          body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
          headers['Content-Type'] ??= 'application/json';
        }
        const res = await checkedFetch(`${http.url}${path}`, { method, headers, body });
        const text = await res.text();
        responses.push(text);
        return {
          status: res.status,
          text,
          headers: res.headers,
          json: () => JSON.parse(text) as Record<string, unknown>,
        };
      },
      arm(host, step, type = 'apply', generation) {
        // The running agent reads this at each crash point; it removes the file before dying.
        writeFileSync(
          armFile(host),
          [step, type, ...(generation === undefined ? [] : [generation])].join(':'),
        );
        return Promise.resolve();
      },
      async restartAgent(host) {
        await stopAgent(host);
        const hellos = helloCount(host);
        launch(host);
        await waitForHello(host, hellos);
      },
      hold: (host) => void held.add(host),
      release(host) {
        held.delete(host);
        const child = agents.get(host)?.child;
        if (!stopping && child && (child.exitCode !== null || child.signalCode !== null)) launch(host);
      },
      pause: (host) => void agents.get(host)?.child.kill('SIGSTOP'),
      resume: (host) => void agents.get(host)?.child.kill('SIGCONT'),
      waitFor,
      async close() {
        for (const cleanup of cleanups.reverse()) {
          try {
            await cleanup();
          } catch {
            // keep closing the rest
          }
        }
        setAppContext(undefined);
        // Kept for a post-mortem only when asked: it holds the run's logs (and its secrets).
        if (!process.env.CCS_KEEP_FAULT_DIR) rmSync(dir, { recursive: true, force: true });
      },
    };

    function helloCount(host: string): number {
      return countLines(join(logs, `agent-${host}.log`), '"msg":"hello sent"');
    }

    /** Until the agent's latest life has announced itself (one more `hello sent` in its log). */
    async function waitForHello(host: string, before: number): Promise<void> {
      await waitFor(() => helloCount(host) > before, `${host} to say hello`, 30_000);
    }

    await waitFor(
      async () => (await stores.hosts.list(ccsId)).length === options.hosts.length,
      'every host to enrol',
      60_000 + options.hosts.length * 2_000,
    );
    return stack;
  } catch (error) {
    await unwind();
    setAppContext(undefined);
    throw error;
  }
}

export function countLines(file: string, needle: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes(needle)).length;
  } catch {
    return 0;
  }
}

/** Log lines (parsed) of an agent's log file. */
export function agentLogLines(file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      out.push({ raw: line });
    }
  }
  return out;
}

export const uniqueCanary = (label: string): string => `canary-${label}-${randomUUID()}`;

/** A Key Vault client of our own (no retries), to look at versions and to use up injected faults. */
export function vaultClient(stack: FaultStack) {
  return createSecretClient({
    vaultUrl: stack.vault.url,
    credential: new StaticTokenCredential(stack.vaultTokens.api),
    caCertPem: readFileSync(stack.vault.caCertPath, 'utf8'),
    retryOptions: { maxRetries: 0 },
  });
}

/** Consume whatever injected faults are left (each request takes one); returns how many there were. */
export async function drainVaultFaults(stack: FaultStack): Promise<number> {
  const client = vaultClient(stack);
  for (let n = 0; n < 200; n++) {
    try {
      await client.getSecret('drain-probe');
      return n;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 429 && status !== 503) return n;
    }
  }
  throw new Error('Key Vault keeps answering with faults');
}

/** How many versions a secret has. */
export async function secretVersions(stack: FaultStack, name: string): Promise<number> {
  let n = 0;
  for await (const _ of vaultClient(stack).listPropertiesOfSecretVersions(name)) n += 1;
  return n;
}
