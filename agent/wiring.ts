/**
 * The composition root: real adapters from a parsed configuration. main.ts uses it for the
 * service, and the integration tests use it for in-process agents, so both run the same wiring.
 */
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import type { QueueServiceClient } from '@azure/storage-queue';
import { createSecretClient, KeyVaultSecretStore } from '../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../shared/adapters/static-token-credential.js';
import { verifyPfxPassword } from '../shared/pkcs12/pfx.js';
import type { SecretStore } from '../shared/ports.js';
import type { Backend } from './backends/backend.js';
import { createBackend } from './backends/index.js';
import { ConfigError, type AgentConfig } from './config.js';
import { azureCredential } from './credential.js';
import { agentLogger, stdoutWriter, type Logger } from './log.js';
import { Agent, type AgentClock } from './loop.js';
import { AzureCommandQueue, AzureReportSink, createQueueService } from './queue.js';
import { SecretCache } from './secrets.js';
import { CommandVerifier } from './command-signature.js';
import { FileStateStore, type StateStore } from './state.js';
import { FileInventoryCache } from './inventory/cache.js';
import { InventoryScanner } from './inventory/scanner.js';
import { BoundNamesGuard } from './bindings/bound-names.js';
import { HostBindings } from './bindings/host-bindings.js';
import { tlsProbe } from './serving/probe.js';
import { leafThumbprint } from './serving/leaf.js';

export async function createSecretStore(keyVault: AgentConfig['keyVault']): Promise<SecretStore> {
  let caCertPem: string | undefined;
  if (keyVault.caCertFile) {
    try {
      caCertPem = readFileSync(keyVault.caCertFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError('keyVault.caCertFile', `cannot read ${keyVault.caCertFile} (${code})`);
    }
  }
  // Local mode presents a fixed token to the local vault; everywhere else the machine's identity.
  const credential: TokenCredential = keyVault.localToken
    ? new StaticTokenCredential(keyVault.localToken)
    : await azureCredential();
  return new KeyVaultSecretStore(createSecretClient({ vaultUrl: keyVault.url, credential, caCertPem }));
}

export interface WiringOverrides {
  /** Where log lines go (stdout by default). */
  write?: (line: string) => void;
  queueService?: QueueServiceClient;
  secretStore?: SecretStore;
  backend?: Backend;
  clock?: AgentClock;
}

export interface WiredAgent {
  agent: Agent;
  backend: Backend;
  state: StateStore;
  secrets: SecretCache;
  log: Logger;
}

export async function createAgent(config: AgentConfig, overrides: WiringOverrides = {}): Promise<WiredAgent> {
  const backend = overrides.backend ?? createBackend(config);
  const state = new FileStateStore(config.stateDir, config.ccsId);
  const secrets = new SecretCache(overrides.secretStore ?? (await createSecretStore(config.keyVault)));
  const log = agentLogger(overrides.write ?? stdoutWriter, secrets.redact, {
    ccsId: config.ccsId,
    host: config.hostName,
  });
  const queues = overrides.queueService ?? (await createQueueService(config.storage));
  const reports = new AzureReportSink(queues);
  const inventory = new InventoryScanner({
    ccsId: config.ccsId,
    hostName: config.hostName,
    backend,
    secrets,
    state,
    cache: new FileInventoryCache(config.stateDir, config.ccsId),
    reports,
    environment: config.environment,
    log,
    now: () => new Date(overrides.clock?.now() ?? Date.now()),
  });
  const now = (): Date => new Date(overrides.clock?.now() ?? Date.now());
  const verifyPfx = (pfx: Buffer, password: string) => verifyPfxPassword(pfx, password);
  // Bindings only where the backend can read them (both shipped backends can).
  const bindings = backend.readBindings
    ? {
        bindings: new HostBindings(
          {
            backend,
            state,
            secrets,
            environment: config.environment,
            log,
            serving: { probe: tlsProbe, leafThumbprint, timeoutMs: config.servingCheckTimeoutSeconds * 1000 },
          },
          { ccsId: config.ccsId, hostName: config.hostName, now },
        ),
        boundNames: new BoundNamesGuard({
          backend,
          state,
          secrets,
          environment: config.environment,
          verifyPfx,
          log,
        }),
      }
    : {};
  const agent = new Agent(config, {
    ...bindings,
    queue: new AzureCommandQueue(queues, config.ccsId, config.hostName),
    reports,
    inventory,
    verifier: new CommandVerifier(secrets, () => overrides.clock?.now() ?? Date.now()),
    backend,
    secrets,
    state,
    verifyPfx,
    log,
    clock: overrides.clock,
  });
  return { agent, backend, state, secrets, log };
}
