/**
 * A fleet of in-process agents for the benchmarks, each built by the agent's own composition
 * root (`createAgent`, agent/wiring.ts, as the service does) with its own queue, state folder,
 * simulated registry and secret cache. Three things differ, all to let one 2-core machine play
 * a thousand servers:
 *
 * - The hosts share one QueueServiceClient and one Key Vault SecretClient (one connection
 *   pool each, as a thousand machines would not share); each host keeps its own SecretCache,
 *   so Key Vault reads per host are what a real host would do.
 * - The simulated share account's scrypt check (`checkStoreAccess`, the heaviest host-local step) is
 *   computed once per (path, user, password) for the whole fleet. On a real fleet every server
 *   spends that time on its own CPU, in parallel with the others; `measureHostLocalWork`
 *   measures it so that it can be added back.
 * - Logs are discarded; warnings and errors are counted by message.
 *
 * The shared queue client is wrapped: every receive (empty or not) and every report sent is
 * recorded with its time, so convergence and pickup delays are measured where they happen.
 */
import { createKeyClient, KeyVaultCommandPublicKeys } from '../../shared/adapters/keyvault-command-key.js';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import type { Agent, AgentClock } from '../../agent/loop.js';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/wiring.js';
import { createQueueService } from '../../agent/queue.js';
import type { SecretStore } from '../../shared/ports.js';
import { SimulatedBackend } from '../../agent/backends/simulated.js';
import type { Backend, StoreAccess } from '../../agent/backends/backend.js';
import { verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import { createSecretClient, KeyVaultSecretStore } from '../../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { decodeMessageText } from '../../shared/messages.js';
import { commandQueueName, REPORTS_QUEUE } from '../../shared/names.js';
import type { AllowedLocation } from '../../shared/paths.js';
import { problemLog, type ProblemLog } from './problems.js';
import type { System } from './system.js';

export interface FleetOptions {
  size: number;
  ccsId: string;
  connectionString: string;
  vaultUrl: string;
  caCertPem: string;
  vaultToken: string;
  shareRoot: string;
  allowedLocations: AllowedLocation[];
  /** Where each host's state and simulated registry go (`<stateRoot>/<host>/…`). */
  stateRoot: string;
  pollMinSeconds: number;
  pollMaxSeconds: number;
  helloIntervalSeconds: number;
  driftIntervalSeconds: number;
  visibilityTimeoutSeconds: number;
  /** Spread the agents' starts over this many ms, so their polls do not run in lockstep. */
  staggerMs: number;
  /** Each agent's clock (one per agent: see `virtualClock`); the system clock when absent. */
  clock?: () => AgentClock;
  /**
   * A one-time enrolment code for a new host (issue 17: the API folds only enrolled hosts'
   * reports), asked from the API as an operator would; hosts start unenrolled when absent.
   */
  enrolmentCode?: (ccsId: string, host: string) => Promise<string>;
}

/** Where a fleet's agents find the system under measurement: storage, Key Vault, the share. */
export function fleetEndpoints(
  system: System,
): Pick<
  FleetOptions,
  | 'connectionString'
  | 'vaultUrl'
  | 'caCertPem'
  | 'vaultToken'
  | 'shareRoot'
  | 'allowedLocations'
  | 'stateRoot'
  | 'enrolmentCode'
> {
  return {
    connectionString: system.endpoints.connectionString,
    vaultUrl: system.host.vaultUrl,
    caCertPem: system.caCertPem,
    vaultToken: system.host.agentVaultToken,
    shareRoot: system.shareRoot,
    allowedLocations: system.allowedLocations,
    stateRoot: join(system.scratch, 'hosts'),
    enrolmentCode: async (ccsId) => {
      const res = await system.api('POST', `/webserver/centralized-certificates/${ccsId}/enrolment-codes`, {
        expires_in_minutes: 60,
      });
      if (res.status !== 201) throw new Error(`the API refused an enrolment code: ${res.status}`);
      return ((await res.json()) as { code: string }).code;
    },
  };
}

/** One event in a host's life, timed in wall-clock ms (by that host's own clock when virtual). */
export type FleetEvent =
  | { at: number; host: string; kind: 'receive'; type: string; generation: number; issuedAt: number }
  | {
      at: number;
      host: string;
      kind: 'report';
      type: string;
      phase?: string;
      generation: number;
      outcome?: string;
    };

/** One Key Vault secret read by one host: the SDK call, its throttling retries included. */
export interface SecretRead {
  host: string;
  name: string;
  version: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** Why a read failed: its HTTP status and error code (no message: it may name the secret). */
  error?: string;
}

export interface Fleet {
  hosts: string[];
  events: FleetEvent[];
  /** Every secret read the agents made (through their SecretCache: a miss reads Key Vault). */
  secretReads: SecretRead[];
  agents: Agent[];
  /** Times of every receive per host (empty or not), when its answer came: the polling rhythm. */
  receives: Map<string, number[]>;
  /**
   * Per receive (same order as `receives`), how long the agent slept before sending it: the
   * time from the previous receive's answer to this one's request (0 for the first). Slept a
   * full idle interval, it is idle polling; less, it is a poll the agent's work brought forward.
   */
  receiveSleeps: Map<string, number[]>;
  /** The agents' warnings and errors, by message. */
  problems: ProblemLog;
  /** A host's own clock (the system clock unless the fleet was given virtual ones). */
  clockOf(host: string): number;
  stop(): Promise<void>;
}

/** Wall-clock ms: compared with times the local host writes (issuedAt, updatedAt) in another process. */
export const now = (): number => Date.now();

/**
 * A clock for one agent whose sleeps take 1/scale of their length in real time but count in
 * full: a simulated hour of its timers (poll, hello, drift) passes in an hour / scale, while
 * everything it does between sleeps (a request and its latency) counts at its real length —
 * so request latency is not magnified by the scale.
 */
export function virtualClock(scale: number): AgentClock {
  let skipped = 0;
  return {
    now: () => Date.now() + skipped,
    sleep: async (ms, signal) => {
      const started = Date.now();
      try {
        await sleepFor(ms / scale, undefined, { signal });
      } catch {
        // aborted: the agent is stopping
      }
      if (!signal.aborted) skipped += Math.max(0, ms - (Date.now() - started));
    },
  };
}

export function hostName(i: number): string {
  return `web-${String(i).padStart(4, '0')}`;
}

type Decoded = Record<string, unknown>;

function decode(text: string): Decoded | undefined {
  try {
    const value = decodeMessageText(text);
    return typeof value === 'object' && value !== null ? (value as Decoded) : undefined;
  } catch {
    return undefined;
  }
}

/** A queue client that records receives on command queues and reports sent, then delegates. */
function observed(
  inner: QueueClient,
  name: string,
  fleet: Fleet,
  hostOf: Map<string, string>,
  clock: (host: string) => number,
): QueueClient {
  const host = hostOf.get(name);
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'receiveMessages' && host) {
        return async (...args: Parameters<QueueClient['receiveMessages']>) => {
          const sentAt = clock(host);
          const previous = fleet.receives.get(host)?.at(-1);
          let sleeps = fleet.receiveSleeps.get(host);
          if (!sleeps) fleet.receiveSleeps.set(host, (sleeps = []));
          sleeps.push(previous === undefined ? 0 : Math.max(0, sentAt - previous));
          try {
            const response = await target.receiveMessages(...args);
            const at = clock(host);
            for (const item of response.receivedMessageItems) {
              const command = decode(item.messageText);
              fleet.events.push({
                at,
                host,
                kind: 'receive',
                type: String(command?.type),
                generation: Number(command?.generation),
                issuedAt: Date.parse(String(command?.issuedAt)),
              });
            }
            return response;
          } finally {
            let list = fleet.receives.get(host);
            if (!list) fleet.receives.set(host, (list = []));
            list.push(clock(host));
          }
        };
      }
      if (prop === 'sendMessage' && name === REPORTS_QUEUE) {
        return async (...args: Parameters<QueueClient['sendMessage']>) => {
          const response = await target.sendMessage(...args);
          const report = decode(args[0]);
          if (report) {
            fleet.events.push({
              at: clock(String(report.host)),
              host: String(report.host),
              kind: 'report',
              type: String(report.type),
              phase: typeof report.phase === 'string' ? report.phase : undefined,
              generation: Number(report.type === 'hello' ? report.appliedGeneration : report.generation),
              outcome: typeof report.outcome === 'string' ? report.outcome : undefined,
            });
          }
          return response;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function observedService(
  inner: QueueServiceClient,
  fleet: Fleet,
  hostOf: Map<string, string>,
  clock: (host: string) => number,
): QueueServiceClient {
  const clients = new Map<string, QueueClient>();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'getQueueClient') {
        return (name: string) => {
          let client = clients.get(name);
          if (!client)
            clients.set(name, (client = observed(target.getQueueClient(name), name, fleet, hostOf, clock)));
          return client;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The fleet-wide memo of the share account check (see the file comment). */
export class SharedHostWork {
  private readonly access = new Map<string, Promise<StoreAccess>>();
  computed = 0;

  checkStoreAccess(inner: Backend, path: string, username: string, password: string): Promise<StoreAccess> {
    const key = `${path}\0${username.toLowerCase()}\0${sha256(password)}`;
    let found = this.access.get(key);
    if (!found) {
      this.computed++;
      found = inner.checkStoreAccess(path, username, password);
      this.access.set(key, found);
    }
    return found;
  }
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The fleet's shared secret client, as one host sees it: its reads are recorded, by host. */
function recordedReads(inner: SecretStore, host: string, reads: SecretRead[]): SecretStore {
  return {
    setSecret: (name, value) => inner.setSecret(name, value),
    deleteSecret: (name) => inner.deleteSecret(name),
    getSecret: async (ref) => {
      const startedAt = now();
      const read = { host, name: ref.name, version: ref.version, startedAt };
      try {
        const value = await inner.getSecret(ref);
        reads.push({ ...read, endedAt: now(), ok: true });
        return value;
      } catch (error) {
        const { statusCode, vaultCode } = error as { statusCode?: number; vaultCode?: string };
        reads.push({
          ...read,
          endedAt: now(),
          ok: false,
          error: `${statusCode ?? 'no status'} ${vaultCode ?? ''}`,
        });
        throw error;
      }
    },
  };
}

/** The backend, with `checkStoreAccess` answered from the fleet-wide memo; everything else its own. */
function withSharedWork(inner: Backend, shared: SharedHostWork): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'checkStoreAccess') {
        return (path: string, username: string, password: string) =>
          shared.checkStoreAccess(target, path, username, password);
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Writes the host's agent.json and loads it with the agent's own loader (defaults included). */
export function agentConfig(options: FleetOptions, host: string, enrolmentCode?: string): AgentConfig {
  const home = join(options.stateRoot, host);
  mkdirSync(home, { recursive: true });
  const file = join(home, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      ccsId: options.ccsId,
      hostName: host,
      storage: { connectionString: options.connectionString },
      keyVault: { url: options.vaultUrl, localToken: options.vaultToken },
      backend: 'simulated',
      allowedLocations: options.allowedLocations,
      environment: { SystemDrive: 'C:' },
      pollMinSeconds: options.pollMinSeconds,
      pollMaxSeconds: options.pollMaxSeconds,
      helloIntervalSeconds: options.helloIntervalSeconds,
      driftIntervalSeconds: options.driftIntervalSeconds,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      stateDir: 'state',
      simulated: { stateDir: 'iis', shareRoot: options.shareRoot },
      ...(enrolmentCode === undefined ? {} : { enrolmentCode }),
    }),
  );
  return loadAgentConfig({ file, env: {} });
}

/** Creates and starts the agents (staggered); resolves once every one has been started. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const store = new KeyVaultSecretStore(
    createSecretClient({
      vaultUrl: options.vaultUrl,
      credential: new StaticTokenCredential(options.vaultToken),
      caCertPem: options.caCertPem,
    }),
  );
  // One client for every agent of the process; each agent still reads each key version once.
  const commandKeys = new KeyVaultCommandPublicKeys(
    createKeyClient({
      vaultUrl: options.vaultUrl,
      credential: new StaticTokenCredential(options.vaultToken),
      caCertPem: options.caCertPem,
    }),
  );
  const shared = new SharedHostWork();
  const clocks = new Map<string, AgentClock>();
  const clockNow = (host: string): number => clocks.get(host)?.now() ?? now();
  const fleet: Fleet = {
    hosts: [],
    events: [],
    secretReads: [],
    agents: [],
    receives: new Map(),
    receiveSleeps: new Map(),
    problems: problemLog(),
    clockOf: (host) => clockNow(host),
    stop: async () => {},
  };
  const hostOf = new Map<string, string>();
  for (let i = 0; i < options.size; i++) {
    const host = hostName(i);
    hostOf.set(commandQueueName(options.ccsId, host), host);
    fleet.hosts.push(host);
  }
  // The agent's own queue client (its retry options, jitter on 503s), shared by the fleet.
  const queues = observedService(
    await createQueueService({ connectionString: options.connectionString }),
    fleet,
    hostOf,
    clockNow,
  );
  // Warnings and errors only: info lines are dropped unparsed.
  const write = (line: string) => {
    if (line.includes('"level":"info"')) return;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string; code?: string };
      const fields = { error: entry.error, code: entry.code };
      if (entry.level === 'error') fleet.problems.error(entry.msg ?? 'unknown', fields);
      else fleet.problems.warn(entry.msg ?? 'unknown', fields);
    } catch {
      fleet.problems.warn('unparsable log line');
    }
  };
  const running: Promise<void>[] = [];
  const gap = options.size > 1 ? options.staggerMs / options.size : 0;
  for (const host of fleet.hosts) {
    const config = agentConfig(options, host, await options.enrolmentCode?.(options.ccsId, host));
    if (options.clock) clocks.set(host, options.clock());
    const wired = await createAgent(config, {
      write,
      queueService: queues,
      secretStore: recordedReads(store, host, fleet.secretReads),
      commandKeys,
      backend: withSharedWork(new SimulatedBackend(config.simulated!), shared),
      clock: clocks.get(host),
    });
    fleet.agents.push(wired.agent);
    running.push(wired.agent.run());
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
  }
  fleet.stop = async () => {
    for (const agent of fleet.agents) agent.stop();
    await Promise.all(running);
  };
  return fleet;
}

/**
 * What one host spends on the checks the fleet shares: one scrypt account check and one
 * PKCS#12 MAC check, each timed uncached (median of a few runs).
 */
export async function measureHostLocalWork(
  shareRoot: string,
  path: string,
  username: string,
  password: string,
  pfx: Buffer,
  pfxPassword: string,
): Promise<{ canAccessMs: number; verifyPfxMs: number }> {
  const backend = new SimulatedBackend({ stateDir: join(shareRoot, '.bench-probe'), shareRoot });
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const access: number[] = [];
  const verify: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    await backend.checkStoreAccess(path, username, password);
    access.push(performance.now() - t);
    t = performance.now();
    verifyPfxPassword(pfx, pfxPassword);
    verify.push(performance.now() - t);
  }
  return { canAccessMs: median(access), verifyPfxMs: median(verify) };
}
