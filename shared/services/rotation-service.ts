/**
 * When a private-key password change becomes a rotation of the share (docs/certificates.md,
 * "Rotating the private-key password"): a PATCH that changes only `private_key_password` on a
 * ccs-id whose share the publisher writes (it has sources, or owns files). Then the change runs as
 * a `rotate` operation (operation-rotation.ts): the elected publisher stages a re-encrypted copy,
 * the hosts move to it with the new password, the publisher re-encrypts the store, the hosts move
 * back. While it runs, no publish run is sent (the rotation owns the share).
 */
import { DomainError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OperationRecord } from '../model.js';
import { choosePfxProfile } from '../pkcs12/profiles.js';
import type { Clock, Stores } from '../ports.js';
import type { ChangeInput, OperationEngine } from './operation-engine.js';
import { pendingStep } from './operation-rotation.js';
import type { PublishRuns } from './publish-runs.js';

/** The staging folder's name for a new password version: `.ccs-rotation-<version>`. */
export function stageFolderFor(version: string | undefined): string {
  const token = (version ?? 'none')
    .toLowerCase()
    .replace(/[^0-9a-z]/g, '')
    .slice(0, 32);
  return `.ccs-rotation-${token || 'none'}`;
}

export class RotationService {
  constructor(
    private readonly stores: Pick<Stores, 'hosts' | 'inventory' | 'publishing'>,
    private readonly engine: OperationEngine,
    private readonly runs: Pick<PublishRuns, 'update'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The change as a rotation, started; null when it is not one (the caller starts it as usual). */
  async rotate(change: ChangeInput): Promise<OperationRecord | null> {
    const onlyPassword =
      change.changedFields.length === 1 && change.changedFields[0] === 'private_key_password';
    const base = change.base;
    if (!onlyPassword || !base?.desired.enabled || !base.desired.path) return null;
    const [sources, files] = await Promise.all([
      this.stores.publishing.getSources(change.ccsId),
      this.stores.publishing.listFiles(change.ccsId),
    ]);
    if (!sources && files.length === 0) return null;
    const { lease } = await this.stores.inventory.getLease(change.ccsId);
    if (!lease.holder) {
      throw new DomainError(
        'conflict',
        'NoPublisher',
        'No host is elected to write the share yet, so its files cannot be re-encrypted; retry once a host has reported',
        'private_key_password',
      );
    }
    const hosts = await this.stores.hosts.list(change.ccsId);
    const { profile } = choosePfxProfile(
      hosts.map((h) => ({ host: h.host, osVersion: h.actual?.osVersion })),
    );
    const now = this.clock.now().toISOString();
    const operation = await this.engine.startRotation(change, {
      path: base.desired.path,
      stage: stageFolderFor(change.proposed.privateKeyPassword?.version),
      from: base.desired.privateKeyPassword,
      to: change.proposed.privateKeyPassword,
      profile,
      step: pendingStep('stage', lease.holder, now),
    });
    await this.runs.update(change.ccsId, (state) => ({ ...state, rotation: { operationId: operation.id } }));
    this.log.info('private-key password rotation started', {
      ccsId: change.ccsId,
      operationId: operation.id,
      publisher: lease.holder,
      files: files.length,
    });
    return operation;
  }
}
