/**
 * A fleet under test: real in-process Azurite, the local Key Vault endpoint spoken to by the real
 * SDK, a demo share made with openssl, and agents wired exactly as `agent/main.ts` wires them
 * (config file → loadAgentConfig → createAgent), each with its own state folders. The test plays
 * the API: it writes commands with the API's own QueueCommandBus and reads the reports queue.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { createAgent, type WiredAgent } from '../../agent/wiring.js';
import { startAzuriteInProcess, type AzuriteEndpoints } from '../../local/azurite.js';
import { seedDemoShare, type DemoShare } from '../../local/demo-share.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import { deployCommandSigningKey, fleetPrincipals } from '../../local/keyvault/fleet-roles.js';
import { commandSigningKey } from '../../shared/adapters/keyvault-command-key.js';
import { createSecretClient, KeyVaultSecretStore } from '../../shared/adapters/keyvault-secret-store.js';
import { QueueCommandBus } from '../../shared/adapters/queue-command-bus.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { CommandSigner, SigningCommandBus } from '../../shared/signing.js';
import { createStorageClients } from '../../shared/adapters/storage.js';
import {
  decodeMessageText,
  MESSAGE_VERSION,
  ReportSchema,
  type Command,
  type CommandSignature,
  type DesiredState,
  type Report,
  type ResultReport,
} from '../../shared/messages.js';
import { REPORTS_QUEUE } from '../../shared/names.js';
import type { SecretStore } from '../../shared/ports.js';

export interface Fleet {
  root: string;
  azurite: AzuriteEndpoints;
  vault: LocalKeyVault;
  /** The agents' vault token: Secrets User, and Reader on the command-signing key (they cannot sign). */
  token: string;
  /** The API's vault token: Secrets Officer, and Crypto User on the command-signing key. */
  apiToken: string;
  /** The API's secret store (it writes the passwords). */
  secrets: KeyVaultSecretStore;
  queues: QueueServiceClient;
  /** The API's bus: commands are signed with the key in the local Key Vault, as the API signs them. */
  bus: SigningCommandBus;
  /** Sign a command by hand (for tests that put raw messages on a queue). */
  sign<T extends Command>(command: T): Promise<T & { sig: CommandSignature }>;
  share: DemoShare;
  shareRoot: string;
  /** Every report read from the reports queue so far. */
  reports: Report[];
  collectReports(): Promise<void>;
  close(): Promise<void>;
}

export interface RunningAgent {
  host: string;
  config: AgentConfig;
  configFile: string;
  wired: WiredAgent;
  logs: string[];
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(): Promise<Fleet> {
  const root = await mkdtemp(join(tmpdir(), 'agent-fleet-'));
  const token = `agent-token-${randomUUID()}`;
  const apiToken = `api-token-${randomUUID()}`;
  const azurite = await startAzuriteInProcess();
  const vault = await startKeyVaultServer({
    port: 0,
    certDir: join(root, 'kv-cert'),
    principals: fleetPrincipals({ api: apiToken, agent: token }),
  });
  await deployCommandSigningKey(vault);
  const caCertPem = await readFile(vault.caCertPath, 'utf8');
  const apiCredential = new StaticTokenCredential(apiToken);
  const secrets = new KeyVaultSecretStore(
    createSecretClient({ vaultUrl: vault.url, credential: apiCredential, caCertPem }),
  );
  const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  await queues.getQueueClient(REPORTS_QUEUE).createIfNotExists();
  const signer = new CommandSigner(
    commandSigningKey(
      {
        CCS_KEY_VAULT_URL: vault.url,
        CCS_KEY_VAULT_CA_FILE: vault.caCertPath,
        CCS_KEY_VAULT_LOCAL_TOKEN: apiToken,
      },
      apiCredential,
    ),
  );
  const bus = new SigningCommandBus(
    new QueueCommandBus(createStorageClients({ connectionString: azurite.connectionString })),
    signer,
  );
  const shareRoot = join(root, 'shares');
  const share = await seedDemoShare({ shareRoot, privateKeyPassword: `pk-${randomUUID()}` });
  const reports: Report[] = [];

  async function collectReports(): Promise<void> {
    const queue = queues.getQueueClient(REPORTS_QUEUE);
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 30,
      });
      if (receivedMessageItems.length === 0) return;
      for (const item of receivedMessageItems) {
        reports.push(ReportSchema.parse(decodeMessageText(item.messageText)));
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  return {
    root,
    azurite,
    vault,
    token,
    apiToken,
    secrets,
    queues,
    bus,
    sign: (command) => signer.sign(command),
    share,
    shareRoot,
    reports,
    collectReports,
    async close() {
      await vault.close();
      await azurite.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Fast settings for tests: the loop polls every 50-200 ms, messages hide for 1 s. */
export const FAST = {
  pollMinSeconds: 0.05,
  pollMaxSeconds: 0.2,
  helloIntervalSeconds: 60,
  driftIntervalSeconds: 60,
  visibilityTimeoutSeconds: 1,
};

/** Writes the agent's JSON config file, as an operator would; returns its path. */
export async function writeAgentConfigFile(
  fleet: Fleet,
  ccsId: string,
  host: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const dir = join(fleet.root, 'hosts', `${ccsId}-${host}`);
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'agent.json');
  const content = {
    ccsId,
    hostName: host,
    storage: { connectionString: fleet.azurite.connectionString },
    keyVault: { url: fleet.vault.url, caCertFile: fleet.vault.caCertPath, localToken: fleet.token },
    backend: 'simulated',
    allowedLocations: [{ path: '\\\\localhost\\ccs', claims: ['read'] }],
    stateDir: 'state',
    simulated: { stateDir: 'iis', shareRoot: fleet.shareRoot },
    ...FAST,
    ...extra,
  };
  await writeFile(configFile, JSON.stringify(content, null, 2));
  return configFile;
}

/** Writes the config file and loads it with the agent's own loader. */
export async function writeAgentConfig(
  fleet: Fleet,
  ccsId: string,
  host: string,
  extra: Record<string, unknown> = {},
): Promise<{ config: AgentConfig; configFile: string }> {
  const configFile = await writeAgentConfigFile(fleet, ccsId, host, extra);
  return { config: loadAgentConfig({ file: configFile, env: {} }), configFile };
}

export async function startAgent(
  fleet: Fleet,
  ccsId: string,
  host: string,
  options: {
    secretStore?: SecretStore;
    extra?: Record<string, unknown>;
    queueService?: QueueServiceClient;
  } = {},
): Promise<RunningAgent> {
  const { config, configFile } = await writeAgentConfig(fleet, ccsId, host, options.extra);
  const logs: string[] = [];
  const wired = await createAgent(config, {
    write: (line) => logs.push(line),
    secretStore: options.secretStore,
    queueService: options.queueService,
  });
  const done = wired.agent.run();
  return {
    host,
    config,
    configFile,
    wired,
    logs,
    done,
    async stop() {
      wired.agent.stop();
      await done;
    },
  };
}

let operationSeq = 0;

export function applyCommand(
  ccsId: string,
  host: string,
  generation: number,
  desired: DesiredState,
): Command {
  return {
    v: MESSAGE_VERSION,
    type: 'apply',
    ccsId,
    host,
    operationId: `op-${++operationSeq}`,
    generation,
    desired,
    issuedAt: new Date().toISOString(),
  };
}

export function preflightCommand(
  ccsId: string,
  host: string,
  generation: number,
  desired: DesiredState,
): Command {
  return {
    ...applyCommand(ccsId, host, generation, desired),
    type: 'preflight',
    operationId: `op-${++operationSeq}`,
  };
}

/** Polls `probe` until it returns something truthy (collecting reports before each try). */
export async function waitFor<T>(
  fleet: Fleet,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await fleet.collectReports();
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function reportsOf(fleet: Fleet, ccsId: string, host?: string): Report[] {
  return fleet.reports.filter((r) => r.ccsId === ccsId && (host === undefined || r.host === host));
}

export function resultsOf(fleet: Fleet, ccsId: string, host?: string): ResultReport[] {
  return reportsOf(fleet, ccsId, host).filter((r): r is ResultReport => r.type === 'result');
}

let ccsSeq = 0;
export const uniqueCcsId = (label: string): string => `${label}-${process.pid % 1000}-${++ccsSeq}`;
