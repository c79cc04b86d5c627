/**
 * The composition root: real adapters from a parsed configuration. main.ts uses it for the
 * service, and the integration tests use it for in-process agents, so both run the same wiring.
 */
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import type { QueueServiceClient } from '@azure/storage-queue';
import { createSecretClient, KeyVaultSecretStore } from '../shared/adapters/keyvault-secret-store.js';
import { createKeyClient, KeyVaultCommandPublicKeys } from '../shared/adapters/keyvault-command-key.js';
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
import { CommandVerifier, type CommandPublicKeySource } from './command-signature.js';
import { FileStateStore, type StateStore } from './state.js';
import { dpapiProtector } from './dpapi.js';
import { FILE_PERMISSIONS_ONLY, loadOrCreateHostKey, type HostKey, type KeyProtector } from './host-key.js';
import { SigningReportSink } from './report-signing.js';
import { enrolmentProof } from '../shared/enrolment.js';
import { FileInventoryCache } from './inventory/cache.js';
import { InventoryScanner } from './inventory/scanner.js';
import { PublisherRunner } from './publish/runner.js';
import { BoundNamesGuard } from './bindings/bound-names.js';
import { HostBindings } from './bindings/host-bindings.js';
import { tlsProbe } from './serving/probe.js';
import { leafThumbprint } from './serving/leaf.js';

/** How this agent reaches its vault: the credential, and the local endpoint's CA when local. */
async function vaultAccess(
  keyVault: AgentConfig['keyVault'],
): Promise<{ credential: TokenCredential; caCertPem?: string }> {
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
  return { credential, ...(caCertPem !== undefined && { caCertPem }) };
}

export async function createSecretStore(keyVault: AgentConfig['keyVault']): Promise<SecretStore> {
  const access = await vaultAccess(keyVault);
  return new KeyVaultSecretStore(createSecretClient({ vaultUrl: keyVault.url, ...access }));
}

/** The public parts of the command-signing key's versions (read-only: agents cannot sign). */
export async function createCommandPublicKeys(
  keyVault: AgentConfig['keyVault'],
): Promise<CommandPublicKeySource> {
  const access = await vaultAccess(keyVault);
  return new KeyVaultCommandPublicKeys(createKeyClient({ vaultUrl: keyVault.url, ...access }));
}

/** The host key's protection as configured: DPAPI through the configured PowerShell, or file permissions. */
function protectorFor(config: AgentConfig): KeyProtector {
  if (config.hostKey.protection === 'file') return FILE_PERMISSIONS_ONLY;
  return dpapiProtector({
    ...(config.powershell?.executable !== undefined && { executable: config.powershell.executable }),
    ...(config.powershell?.timeoutSeconds !== undefined && {
      timeoutMs: config.powershell.timeoutSeconds * 1000,
    }),
  });
}

export interface WiringOverrides {
  /** Where log lines go (stdout by default). */
  write?: (line: string) => void;
  queueService?: QueueServiceClient;
  secretStore?: SecretStore;
  /** How the host key is protected at rest (by default as `hostKey.protection` says). */
  hostKeyProtector?: KeyProtector;
  /** Where the command-signing key's public parts come from (Key Vault by default). */
  commandKeys?: CommandPublicKeySource;
  backend?: Backend;
  clock?: AgentClock;
}

export interface WiredAgent {
  agent: Agent;
  /** This host's key (its public part and thumbprint; the private part stays in the process). */
  hostKey: HostKey;
  backend: Backend;
  state: StateStore;
  secrets: SecretCache;
  log: Logger;
}

export async function createAgent(config: AgentConfig, overrides: WiringOverrides = {}): Promise<WiredAgent> {
  const backend = overrides.backend ?? createBackend(config);
  const state = new FileStateStore(config.stateDir, config.ccsId);
  const secretStore = overrides.secretStore ?? (await createSecretStore(config.keyVault));
  const secrets = new SecretCache(secretStore);
  const log = agentLogger(overrides.write ?? stdoutWriter, secrets.redact, {
    ccsId: config.ccsId,
    host: config.hostName,
  });
  const queues = overrides.queueService ?? (await createQueueService(config.storage));
  const hostKey = await loadOrCreateHostKey(
    config.stateDir,
    overrides.hostKeyProtector ?? protectorFor(config),
  );
  log.info(hostKey.created ? 'host key created' : 'host key loaded', { thumbprint: hostKey.thumbprint });
  // Every report, the loop's and the scanner's, is signed with this host's key.
  const reports = new SigningReportSink(new AzureReportSink(queues), hostKey);
  const identity = {
    hostKey: hostKey.publicKey,
    ...(config.enrolmentCode && {
      enrolmentProof: enrolmentProof(config.enrolmentCode, config.ccsId, config.hostName, hostKey.publicKey),
    }),
  };
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
  // Runs only when the API elects this host to write the share (docs/certificates.md).
  const publisher = new PublisherRunner({
    ccsId: config.ccsId,
    hostName: config.hostName,
    secrets,
    sourceSecrets: secretStore,
    reports,
    environment: config.environment,
    allowedLocations: config.allowedLocations,
    log,
    now,
    backend,
  });
  const agent = new Agent(config, {
    ...bindings,
    publisher,
    queue: new AzureCommandQueue(queues, config.ccsId, config.hostName),
    reports,
    identity,
    inventory,
    verifier: new CommandVerifier(
      overrides.commandKeys ?? (await createCommandPublicKeys(config.keyVault)),
      () => overrides.clock?.now() ?? Date.now(),
    ),
    backend,
    secrets,
    state,
    verifyPfx,
    log,
    clock: overrides.clock,
  });
  return { agent, hostKey, backend, state, secrets, log };
}
