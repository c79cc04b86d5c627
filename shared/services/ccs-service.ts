/**
 * The use cases of the centralized-certificates resource. HTTP handlers call these; so would
 * any other entry point. Passwords are written to Key Vault here and leave as references only.
 */
import { EnableBodySchema, UpdateBodySchema, parseBody } from '../api-schemas.js';
import type { AllowedLocation } from '../paths.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { DISABLED_STATE, type DesiredState, type SecretRef } from '../messages.js';
import type { CcsRecord, HostRecord, OperationHostRecord, OperationRecord } from '../model.js';
import { assertCcsId, secretName, type SecretKind } from '../names.js';
import { assertAllowed, normalizeCcsPath } from '../paths.js';
import type { SecretStore } from '../ports.js';
import type { TableRepositories } from '../adapters/table-repositories.js';
import type { Logger } from '../log.js';
import type { OperationEngine } from './operation-engine.js';

/** The seed's 404: CCS is not enabled for this id (the IIS Administration API's exact body). */
export function notEnabled(): DomainError {
  return notFound('IIS Central Certificate Store', 'IIS feature not installed', 'CcsNotEnabled');
}

/** The HTTP entity tag of a ccs-id's desired state: every accepted change bumps the generation. */
export function etagOf(record: CcsRecord): string {
  return `"g${record.generation}"`;
}

export interface Caller {
  /** `access-token:<name>` or `entra:<subject>`: recorded on operations, never a credential. */
  id: string;
}

export type UpdateResult =
  { kind: 'operation'; operation: OperationRecord } | { kind: 'unchanged'; record: CcsRecord };

export class CcsService {
  constructor(
    private readonly repos: TableRepositories,
    private readonly secrets: SecretStore,
    private readonly engine: OperationEngine,
    private readonly allowedLocations: () => AllowedLocation[],
    private readonly log: Logger,
  ) {}

  /** The enabled state of a ccs-id, or the seed's 404. */
  async get(ccsId: string): Promise<{ record: CcsRecord; hosts: HostRecord[] }> {
    const record = await this.enabledRecord(assertCcsId(ccsId));
    return { record, hosts: await this.repos.listHosts(ccsId) };
  }

  async list(): Promise<CcsRecord[]> {
    return (await this.repos.listCcs()).filter((r) => r.desired.enabled);
  }

  async hosts(ccsId: string): Promise<{ record: CcsRecord | null; hosts: HostRecord[] }> {
    assertCcsId(ccsId);
    const current = await this.repos.getCcs(ccsId);
    return { record: current?.record ?? null, hosts: await this.repos.listHosts(ccsId) };
  }

  /** POST: enable CCS for a ccs-id that is not enabled yet. */
  async enable(ccsId: string, body: unknown, caller: Caller): Promise<OperationRecord> {
    assertCcsId(ccsId);
    const input = parseBody(EnableBodySchema, body);
    const path = this.checkPath(input.path);
    const current = await this.repos.getCcs(ccsId);
    if (current?.record.desired.enabled) {
      throw new DomainError(
        'conflict',
        'AlreadyEnabled',
        'CCS is already enabled for this id; use PATCH',
        'id',
      );
    }
    const proposed: DesiredState = {
      enabled: true,
      path,
      username: input.identity.username,
      password: await this.store(ccsId, 'identity-password', input.identity.password),
      privateKeyPassword: await this.storeOptional(ccsId, input.private_key_password),
    };
    return this.engine.start({
      ccsId,
      kind: 'enable',
      proposed,
      changedFields: ['path', 'identity.username', 'identity.password', 'private_key_password'],
      base: current?.record ?? null,
      requestedBy: caller.id,
    });
  }

  /** PATCH: change any subset; the read-only fields of a GET body are tolerated. */
  async update(ccsId: string, body: unknown, ifMatch: string | null, caller: Caller): Promise<UpdateResult> {
    assertCcsId(ccsId);
    const input = parseBody(UpdateBodySchema, body);
    if (input.id !== undefined && input.id !== ccsId) throw invalid('id', 'id does not match the resource');
    const record = await this.enabledRecord(ccsId);
    checkIfMatch(record, ifMatch);
    const changed: string[] = [];
    const proposed: DesiredState = { ...record.desired };
    if (input.path !== undefined) {
      const path = this.checkPath(input.path);
      if (path !== record.desired.path) {
        proposed.path = path;
        changed.push('path');
      }
    }
    if (input.identity?.username !== undefined && input.identity.username !== record.desired.username) {
      proposed.username = input.identity.username;
      changed.push('identity.username');
    }
    if (input.identity?.password !== undefined) {
      proposed.password = await this.store(ccsId, 'identity-password', input.identity.password);
      changed.push('identity.password');
    }
    if (input.private_key_password !== undefined) {
      proposed.privateKeyPassword = await this.storeOptional(ccsId, input.private_key_password);
      changed.push('private_key_password');
    }
    if (changed.length === 0) return { kind: 'unchanged', record };
    const operation = await this.engine.start({
      ccsId,
      kind: 'update',
      proposed,
      changedFields: changed,
      base: record,
      requestedBy: caller.id,
    });
    return { kind: 'operation', operation };
  }

  /** DELETE: disable; idempotent (null when CCS was not enabled). Secrets are soft-deleted. */
  async disable(ccsId: string, ifMatch: string | null, caller: Caller): Promise<OperationRecord | null> {
    assertCcsId(ccsId);
    const current = await this.repos.getCcs(ccsId);
    if (!current?.record.desired.enabled) return null;
    checkIfMatch(current.record, ifMatch);
    const operation = await this.engine.start({
      ccsId,
      kind: 'disable',
      proposed: DISABLED_STATE,
      changedFields: ['enabled'],
      base: current.record,
      requestedBy: caller.id,
    });
    if (operation.status !== 'Failed') await this.deleteSecrets(ccsId);
    return operation;
  }

  /** An operation with its per-host results, advanced first so a reader never sees stale progress. */
  async operation(id: string): Promise<{ operation: OperationRecord; hosts: OperationHostRecord[] }> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('id', 'Operation not found', 'OperationNotFound');
    const operation = await this.engine.advance(id);
    if (!operation) throw notFound('id', 'Operation not found', 'OperationNotFound');
    return { operation, hosts: await this.repos.operationHosts(id) };
  }

  private async enabledRecord(ccsId: string): Promise<CcsRecord> {
    const current = await this.repos.getCcs(ccsId);
    if (!current?.record.desired.enabled) throw notEnabled();
    return current.record;
  }

  private checkPath(raw: string): string {
    const path = normalizeCcsPath(raw, 'path');
    assertAllowed(path, this.allowedLocations());
    return path;
  }

  private store(ccsId: string, kind: SecretKind, value: string): Promise<SecretRef> {
    return this.secrets.setSecret(secretName(ccsId, kind), value);
  }

  /** An empty private-key password means "none": nothing is stored. */
  private storeOptional(ccsId: string, value: string | undefined): Promise<SecretRef | null> {
    return value ? this.store(ccsId, 'private-key-password', value) : Promise.resolve(null);
  }

  private async deleteSecrets(ccsId: string): Promise<void> {
    for (const kind of ['identity-password', 'private-key-password'] as const) {
      try {
        await this.secrets.deleteSecret(secretName(ccsId, kind));
      } catch {
        // The state no longer references them; a leftover version is harmless and logged.
        this.log.warn('could not soft-delete secret', { ccsId, kind });
      }
    }
  }
}

function checkIfMatch(record: CcsRecord, ifMatch: string | null): void {
  if (ifMatch === null) return;
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(etagOf(record))) return;
  throw new DomainError(
    'precondition',
    'PreconditionFailed',
    'The resource has changed since it was read',
    'If-Match',
  );
}
