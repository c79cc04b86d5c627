/**
 * The use cases of the centralized-certificates resource. HTTP handlers parse requests into the
 * typed inputs below and call these; so would any other entry point. Passwords are written to
 * Key Vault here and leave as references only.
 */
import { DomainError, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import { DISABLED_STATE, type DesiredState, type SecretRef } from '../messages.js';
import type { CcsRecord, HostRecord, OperationRecord } from '../model.js';
import { assertCcsId, secretName, type SecretKind } from '../names.js';
import { assertAllowed, normalizeCcsPath, type AllowedLocation } from '../paths.js';
import type { SecretStore, Stores } from '../ports.js';
import type { IdentityPolicy } from './identity-policy.js';
import type { ChangeInput, OperationEngine } from './operation-engine.js';
import type { RolloutPolicy } from '../rollout/policy.js';

/** The rollout rules a change goes through (RolloutService; docs/rollouts.md). */
export interface RolloutGate {
  /** 409 while a rollout holds the ccs-id; else the policy the change runs under. */
  forChange(ccsId: string, override: RolloutPolicy | undefined): Promise<RolloutPolicy>;
  /** A DELETE stops a running rollout first. */
  stopForDisable(ccsId: string, caller: Caller): Promise<void>;
}

/** The seed's 404: CCS is not enabled for this id (the IIS Administration API's exact body). */
export function notEnabled(): DomainError {
  return notFound('IIS Central Certificate Store', 'IIS feature not installed', 'CcsNotEnabled');
}

export interface Caller {
  /** `access-token:<name>` or `entra:<oid>@<tid>`: recorded on operations, never a credential. */
  id: string;
  /** A display name beside the id (Entra's name claims), for the audit log. */
  name?: string;
}

/** Enable: every field (`privateKeyPassword` empty or absent: PFX files without a password). */
export interface EnableRequest {
  path: string;
  username: string;
  password: string;
  privateKeyPassword?: string;
  /** This change's rollout policy, instead of the ccs-id's (docs/rollouts.md). */
  rollout?: RolloutPolicy;
}

/** Update: any subset. */
export type UpdateRequest = Partial<EnableRequest>;

/**
 * A precondition on the current generation (HTTP `If-Match`): the generations the caller
 * accepts, or null for none (no header, or `*`). An empty list matches nothing.
 */
export type ExpectedGenerations = readonly number[] | null;

/** How a change is made: `force` (`?force=true`) lets it take certificates away from bound sites. */
export interface ChangeOptions {
  force?: boolean;
}

export type UpdateResult =
  { kind: 'operation'; operation: OperationRecord } | { kind: 'unchanged'; record: CcsRecord };

export class CcsService {
  constructor(
    private readonly stores: Pick<Stores, 'desired' | 'hosts'>,
    private readonly secrets: SecretStore,
    private readonly engine: OperationEngine,
    private readonly allowedLocations: () => AllowedLocation[],
    private readonly log: Logger,
    /** The share-identity allow-list and the identity-change rate limit (identity-policy.ts). */
    private readonly identities: Pick<IdentityPolicy, 'checkAllowed' | 'spend'>,
    private readonly rollouts?: RolloutGate,
    /** A private-key password change of a published share runs as a rotation (rotation-service.ts). */
    private readonly rotations?: { rotate(change: ChangeInput): Promise<OperationRecord | null> },
  ) {}

  /** The enabled state of a ccs-id, or the seed's 404. */
  async get(ccsId: string): Promise<{ record: CcsRecord; hosts: HostRecord[] }> {
    const record = await this.enabledRecord(assertCcsId(ccsId));
    return { record, hosts: await this.stores.hosts.list(ccsId) };
  }

  async list(): Promise<CcsRecord[]> {
    return (await this.stores.desired.list()).filter((r) => r.desired.enabled);
  }

  async hosts(ccsId: string): Promise<{ record: CcsRecord | null; hosts: HostRecord[] }> {
    assertCcsId(ccsId);
    const current = await this.stores.desired.get(ccsId);
    return { record: current?.record ?? null, hosts: await this.stores.hosts.list(ccsId) };
  }

  /** POST: enable CCS for a ccs-id that is not enabled yet. */
  async enable(
    ccsId: string,
    input: EnableRequest,
    caller: Caller,
    options: ChangeOptions = {},
  ): Promise<OperationRecord> {
    assertCcsId(ccsId);
    const path = this.checkPath(input.path);
    const current = await this.stores.desired.get(ccsId);
    if (current?.record.desired.enabled) {
      throw new DomainError(
        'conflict',
        'AlreadyEnabled',
        'CCS is already enabled for this id; use PATCH',
        'id',
      );
    }
    const rollout = await this.rollouts?.forChange(ccsId, input.rollout);
    await this.identityChange(ccsId, input.username);
    const proposed: DesiredState = {
      enabled: true,
      path,
      username: input.username,
      password: await this.store(ccsId, 'identity-password', input.password),
      privateKeyPassword: await this.storeOptional(ccsId, input.privateKeyPassword),
    };
    return this.engine.start({
      ccsId,
      kind: 'enable',
      proposed,
      changedFields: ['path', 'identity.username', 'identity.password', 'private_key_password'],
      base: current?.record ?? null,
      requestedBy: caller.id,
      rollout: rollout ?? null,
      ...options,
      ...(caller.name ? { requestedByName: caller.name } : {}),
    });
  }

  /** PATCH: change any subset; a change that changes nothing starts no operation. */
  async update(
    ccsId: string,
    input: UpdateRequest,
    ifMatch: ExpectedGenerations,
    caller: Caller,
    options: ChangeOptions = {},
  ): Promise<UpdateResult> {
    assertCcsId(ccsId);
    const record = await this.enabledRecord(ccsId);
    checkIfMatch(record, ifMatch);
    const rollout = await this.rollouts?.forChange(ccsId, input.rollout);
    const changed: string[] = [];
    const proposed: DesiredState = { ...record.desired };
    if (input.path !== undefined) {
      const path = this.checkPath(input.path);
      if (path !== record.desired.path) {
        proposed.path = path;
        changed.push('path');
      }
    }
    // After the input checks (a refused request counts nothing), before anything is stored.
    const newUsername = input.username !== undefined && input.username !== record.desired.username;
    if (newUsername || input.password !== undefined) {
      await this.identityChange(ccsId, input.username ?? record.desired.username ?? '');
    }
    if (input.username !== undefined && input.username !== record.desired.username) {
      proposed.username = input.username;
      changed.push('identity.username');
    }
    if (input.password !== undefined) {
      proposed.password = await this.store(ccsId, 'identity-password', input.password);
      changed.push('identity.password');
    }
    if (input.privateKeyPassword !== undefined) {
      proposed.privateKeyPassword = await this.storeOptional(ccsId, input.privateKeyPassword);
      changed.push('private_key_password');
    }
    if (changed.length === 0) return { kind: 'unchanged', record };
    const change: ChangeInput = {
      ccsId,
      kind: 'update',
      proposed,
      changedFields: changed,
      base: record,
      requestedBy: caller.id,
      rollout: rollout ?? null,
      ...options,
      ...(caller.name ? { requestedByName: caller.name } : {}),
    };
    const operation = (await this.rotations?.rotate(change)) ?? (await this.engine.start(change));
    return { kind: 'operation', operation };
  }

  /** DELETE: disable; idempotent (null when CCS was not enabled). Secrets are soft-deleted. */
  async disable(
    ccsId: string,
    ifMatch: ExpectedGenerations,
    caller: Caller,
    options: ChangeOptions = {},
  ): Promise<OperationRecord | null> {
    assertCcsId(ccsId);
    const current = await this.stores.desired.get(ccsId);
    if (!current?.record.desired.enabled) return null;
    checkIfMatch(current.record, ifMatch);
    await this.rollouts?.stopForDisable(ccsId, caller);
    const operation = await this.engine.start({
      ccsId,
      kind: 'disable',
      proposed: DISABLED_STATE,
      changedFields: ['enabled'],
      base: current.record,
      requestedBy: caller.id,
      ...options,
      ...(caller.name ? { requestedByName: caller.name } : {}),
    });
    if (operation.status !== 'Failed') await this.deleteSecrets(ccsId);
    return operation;
  }

  /** Before anything is stored or sent: the identity must be allowed, and the hour's budget left. */
  private async identityChange(ccsId: string, username: string): Promise<void> {
    this.identities.checkAllowed(ccsId, username);
    await this.identities.spend(ccsId);
  }

  private async enabledRecord(ccsId: string): Promise<CcsRecord> {
    const current = await this.stores.desired.get(ccsId);
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

function checkIfMatch(record: CcsRecord, expected: ExpectedGenerations): void {
  if (expected === null || expected.includes(record.generation)) return;
  throw new DomainError(
    'precondition',
    'PreconditionFailed',
    'The resource has changed since it was read',
    'If-Match',
  );
}
