/**
 * The services that publish Key Vault certificates to each ccs-id's share (docs/certificates.md,
 * "Publishing"), built on the real `CertificateClient`: the sources API, the publish runs (timer,
 * Event Grid, reports) and the private-key password rotation of a published share.
 */
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import {
  createCertificateClient,
  KeyVaultCertificateCatalog,
} from '../shared/adapters/keyvault-certificate-catalog.js';
import { StaticTokenCredential } from '../shared/adapters/static-token-credential.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { CertificateCatalog, Clock, CommandBus, Stores } from '../shared/ports.js';
import type { PublishReport, ReencryptReport } from '../shared/publishing/messages.js';
import type { OperationEngine } from '../shared/services/operation-engine.js';
import { PublishRuns } from '../shared/services/publish-runs.js';
import { SourcesService } from '../shared/services/publishing-sources.js';
import type { PublishingFolder } from '../shared/services/report-service.js';
import { RotationService } from '../shared/services/rotation-service.js';

export interface Publishing {
  sources: SourcesService;
  runs: PublishRuns;
  rotations: RotationService;
  /** Where the publisher's reports are folded. */
  folder: PublishingFolder;
}

/** The vault's certificates, through the SDK (the local endpoint with its fixed token and CA). */
export function certificateCatalog(config: Config, credential: TokenCredential): CertificateCatalog {
  return new KeyVaultCertificateCatalog(
    config.CCS_KEY_VAULT_CA_FILE
      ? createCertificateClient({
          vaultUrl: config.CCS_KEY_VAULT_URL,
          credential: new StaticTokenCredential(config.CCS_KEY_VAULT_LOCAL_TOKEN ?? ''),
          caCertPem: readFileSync(config.CCS_KEY_VAULT_CA_FILE, 'utf8'),
        })
      : createCertificateClient({ vaultUrl: config.CCS_KEY_VAULT_URL, credential }),
  );
}

export function createPublishing(deps: {
  config: Config;
  stores: Stores;
  catalog: CertificateCatalog;
  bus: CommandBus;
  engine: OperationEngine;
  clock: Clock;
  log: Logger;
}): Publishing {
  const { stores, catalog, bus, engine, clock, log } = deps;
  const runs = new PublishRuns(stores, catalog, bus, clock, log, {
    intervalSeconds: deps.config.CCS_INVENTORY_INTERVAL_SECONDS,
    agentAccess: deps.config.CCS_AGENT_ACCESS,
  });
  return {
    runs,
    sources: new SourcesService(stores, catalog, runs, clock, log, deps.config.CCS_AGENT_ACCESS),
    rotations: new RotationService(stores, engine, runs, clock, log),
    folder: {
      fold: (report: PublishReport | ReencryptReport) =>
        report.type === 'publish' ? runs.fold(report) : engine.recordRotationStep(report),
    },
  };
}
