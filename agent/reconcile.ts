/**
 * What the agent does with a command and with drift — the level-triggered core, free of
 * queues and timers:
 *
 * - A command whose generation is at or below the applied one is `superseded`: acknowledged,
 *   never re-applied. Duplicates and reordered deliveries are therefore harmless.
 * - `preflight` checks and changes nothing.
 * - `apply` preflights again (a host that missed phase one still never applies a bad change),
 *   applies through the backend, then persists the generation and the desired state
 *   (references only) before reporting. A crash between apply and persist re-applies the same
 *   state on redelivery, which is idempotent.
 * - Drift: when IIS no longer matches the last applied state (someone edited it by hand), the
 *   applied state is restored without a new preflight — it is already the committed desired
 *   state, and restoring it is the best this host can do — but only within this host's allowed
 *   locations and with this ccs-id's secrets, checked as an apply checks them (the allow-list
 *   may have changed since, or the state file been edited).
 * - A host without applied state (new, or rebuilt) applies no command issued before it announced
 *   itself: it waits for the API's answer to its hello (the current generation, issued after it),
 *   so a replayed older command cannot roll it back. See `awaitsCurrentGeneration`.
 */
import type { ActualState, Command, DesiredState, HostError } from '../shared/messages.js';
import { normalizeCcsPath } from '../shared/paths.js';
import { CLOCK_SKEW_SECONDS } from '../shared/signing.js';
import type { Logger } from './log.js';
import { crashPoint } from './crash-points.js';
import type { ResolvedDesired } from './backends/backend.js';
import {
  checkSecretNames,
  hostErrors,
  isAllowedHere,
  localPath,
  preflight,
  resolveLocalPath,
  type PreflightDeps,
} from './preflight.js';
import { SecretUnavailableError } from './secrets.js';
import type { AppliedRecord, StateStore } from './state.js';

export interface ReconcilerDeps extends PreflightDeps {
  state: StateStore;
  log: Logger;
  now: () => Date;
  /** True once the agent is hard-stopping: nothing more is changed on the host. */
  abandoned?: () => boolean;
}

/** The command was dropped by a hard stop before it changed anything; it will be redelivered. */
export class CommandAbandonedError extends Error {
  constructor() {
    super('The agent is stopping; the command was left for redelivery');
    this.name = 'CommandAbandonedError';
  }
}

export interface CommandOutcome {
  outcome: 'succeeded' | 'failed' | 'superseded';
  error: HostError | null;
  actual: ActualState | null;
  appliedGeneration: number;
}

export interface DriftOutcome {
  generation: number;
  found: ActualState;
  actual: ActualState;
  repaired: boolean;
  error: HostError | null;
  appliedGeneration: number;
}

/** Paths compare as Windows does: normalised and case-insensitively. */
function samePath(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const canonical = (p: string): string => {
    try {
      return normalizeCcsPath(p).toLowerCase();
    } catch {
      return p.trim().toLowerCase();
    }
  };
  return canonical(a) === canonical(b);
}

/** Account names are case-insensitive on Windows (`CONTOSO\svc` is `contoso\SVC`). */
function sameUser(a: string | null, b: string | null): boolean {
  return (a ?? '').trim().toLowerCase() === (b ?? '').trim().toLowerCase();
}

/** Whether IIS matches the desired state in what can be read back (passwords cannot). */
export function matchesDesired(
  desired: DesiredState,
  actual: ActualState,
  environment: Record<string, string | undefined>,
): boolean {
  if (!desired.enabled) return !actual.enabled;
  const expected = desired.path === null ? null : (localPath(desired.path, environment) ?? desired.path);
  return actual.enabled && samePath(expected, actual.path) && sameUser(desired.username, actual.username);
}

/**
 * Whether an apply must wait: this host has applied nothing (no state file — a new or rebuilt
 * host) and the command was issued before this agent started and said hello, less the clock skew
 * signatures allow. The API answers a hello from a host behind the desired state with the
 * current state, issued after the hello; until that is applied, older commands — a replay of a
 * genuine, still unexpired one included — are not. Preflights and scans change nothing and are
 * not held back.
 */
export function awaitsCurrentGeneration(
  applied: AppliedRecord,
  command: Command,
  startedAtMs: number,
): boolean {
  if (command.type !== 'apply' || applied.appliedGeneration > 0 || applied.desired !== null) return false;
  const issued = Date.parse(command.issuedAt);
  return !(issued >= startedAtMs - CLOCK_SKEW_SECONDS * 1000);
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  private applyFailed(error: unknown): HostError {
    const message = error instanceof Error ? error.message : 'unknown error';
    const detail = this.deps.secrets.redact(`Applying the configuration failed: ${message}`).slice(0, 1024);
    return { name: 'host', code: 'ApplyFailed', detail, status: 500 };
  }

  async handle(command: Command): Promise<CommandOutcome> {
    const { backend, state, log } = this.deps;
    const applied = await state.load();
    const fields = { generation: command.generation, operationId: command.operationId ?? undefined };

    if (command.generation <= applied.appliedGeneration) {
      log.info('command superseded', {
        ...fields,
        type: command.type,
        appliedGeneration: applied.appliedGeneration,
      });
      return {
        outcome: 'superseded',
        error: null,
        actual: await backend.readActual(),
        appliedGeneration: applied.appliedGeneration,
      };
    }

    // The bound-names check decides a change, so it belongs to phase one: an apply carries a
    // change the fleet already agreed to (or a catch-up to the committed state) and never fails on it.
    const check = await preflight(command.desired, this.deps, {
      checkBoundNames: command.type === 'preflight' && command.force !== true,
    });
    if (!check.ok) {
      log.warn(`${command.type} failed preflight`, {
        ...fields,
        code: check.error.code,
        field: check.error.name,
      });
      return {
        outcome: 'failed',
        error: check.error,
        actual: await backend.readActual(),
        appliedGeneration: applied.appliedGeneration,
      };
    }
    crashPoint('after-secrets', command);
    if (command.type === 'preflight') {
      log.info('preflight passed', fields);
      return {
        outcome: 'succeeded',
        error: null,
        actual: await backend.readActual(),
        appliedGeneration: applied.appliedGeneration,
      };
    }

    if (this.deps.abandoned?.()) throw new CommandAbandonedError();
    try {
      await backend.apply(check.resolved);
    } catch (error) {
      const hostError = this.applyFailed(error);
      log.error('apply failed', { ...fields, detail: hostError.detail });
      return {
        outcome: 'failed',
        error: hostError,
        actual: await backend.readActual(),
        appliedGeneration: applied.appliedGeneration,
      };
    }
    crashPoint('after-apply', command);
    await state.save({
      appliedGeneration: command.generation,
      desired: command.desired,
      appliedAt: this.deps.now().toISOString(),
    });
    log.info('applied', { ...fields, enabled: command.desired.enabled });
    return {
      outcome: 'succeeded',
      error: null,
      actual: await backend.readActual(),
      appliedGeneration: command.generation,
    };
  }

  /** Secrets and path for re-applying the stored desired state (no preflight, but an apply's checks: see above). */
  private async resolve(desired: DesiredState): Promise<ResolvedDesired | HostError> {
    if (!desired.enabled) return { enabled: false };
    const names = checkSecretNames(desired, this.deps.ccsId);
    if (names) return names;
    if (desired.path === null)
      return hostErrors.invalid('path', 'the applied path cannot be resolved on this host');
    const local = resolveLocalPath(desired.path, this.deps.environment);
    if ('error' in local) return local.error;
    const path = local.path;
    if (!isAllowedHere(path, this.deps)) return hostErrors.pathForbidden();
    if (!desired.username || !desired.password) {
      return hostErrors.invalid('identity', 'the applied identity is incomplete');
    }
    try {
      const password = await this.deps.secrets.get(desired.password);
      const privateKeyPassword = desired.privateKeyPassword
        ? await this.deps.secrets.get(desired.privateKeyPassword)
        : null;
      return { enabled: true, path, username: desired.username, password, privateKeyPassword };
    } catch (error) {
      if (!(error instanceof SecretUnavailableError)) throw error;
      const field = error.ref === desired.password ? 'identity' : 'private_key_password';
      return hostErrors.secretUnavailable(field, error);
    }
  }

  /** Compare IIS with the last applied state; restore it when they differ. Null when in sync. */
  async checkDrift(): Promise<DriftOutcome | null> {
    const { backend, state, log } = this.deps;
    const applied = await state.load();
    if (!applied.desired) return null;
    const found = await backend.readActual();
    if (matchesDesired(applied.desired, found, this.deps.environment)) return null;

    const base = {
      generation: applied.appliedGeneration,
      found,
      appliedGeneration: applied.appliedGeneration,
    };
    log.warn('drift found', { generation: applied.appliedGeneration, enabled: found.enabled });
    const resolved = await this.resolve(applied.desired);
    if ('code' in resolved) {
      return { ...base, actual: found, repaired: false, error: resolved };
    }
    try {
      await backend.apply(resolved);
    } catch (error) {
      const hostError = this.applyFailed(error);
      log.error('drift repair failed', { detail: hostError.detail });
      return { ...base, actual: await backend.readActual(), repaired: false, error: hostError };
    }
    const actual = await backend.readActual();
    const repaired = matchesDesired(applied.desired, actual, this.deps.environment);
    log.info('drift repaired', { generation: applied.appliedGeneration, repaired });
    return { ...base, actual, repaired, error: null };
  }
}
