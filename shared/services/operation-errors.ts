/** The errors an operation can end with, in the API's vocabulary (`target` = the field at fault). */
import type { HostError } from '../messages.js';
import type { OperationError } from '../model.js';

/**
 * The codes an operation can end with that the API documents: the engine's own and the ones the
 * agent reports (agent/preflight.ts, agent/reconcile.ts, agent/loop.ts). Only these are ever
 * copied into an HTTP header; a host's other codes stay in the body (operationHeaderCode).
 */
export const OPERATION_ERROR_CODES: ReadonlySet<string> = new Set([
  // The engine's
  'Conflict',
  'HostsDidNotReport',
  'HostFailed',
  // A rollout's end (docs/rollouts.md)
  'RolledBack',
  'RollbackFailed',
  'CommandsNotSent',
  // The agent's preflight and apply
  'InvalidParameter',
  'PathForbidden',
  'PathNotFound',
  'CannotAccessStore',
  'InvalidPrivateKeyPassword',
  'SecretUnavailable',
  'ApplyFailed',
  'BoundNamesUncovered',
  // A rotation's publisher steps (agent/publish/rotation-step.ts)
  'PublisherDidNotReport',
  'ForeignFiles',
  'UnreadableFiles',
  'ShareReadOnly',
  'ShareFull',
  'ShareUnavailable',
  'ShareError',
  'ConcurrentPublisher',
  'PublisherRecordUnreadable',
  // The agent's refusals of a command
  'CommandAbandoned',
  'CommandUnsigned',
  'InvalidSignature',
  'CommandExpired',
]);

/** The `x-ms-error-code` of an operation's error: its code when the API documents it, else HostFailed. */
export function operationHeaderCode(error: OperationError): string {
  return OPERATION_ERROR_CODES.has(error.code) ? error.code : 'HostFailed';
}

/** The first host error decides the operation's error (hosts agree in practice: same share). */
export function hostErrorToOperationError(errors: (HostError | null)[]): OperationError {
  const first = errors.find((e): e is HostError => e !== null);
  if (!first) {
    return { code: 'HostFailed', message: 'A host failed without details', target: null, status: 409 };
  }
  return { code: first.code, message: first.detail, target: first.name, status: first.status };
}

export function operationConflict(): OperationError {
  return {
    code: 'Conflict',
    message: 'Another change to this ccs-id was committed first; read it again and retry',
    target: 'id',
    status: 409,
  };
}

/**
 * The preflight could not be signed or queued for every host (Key Vault or storage failing as the
 * change started). The change is recorded and audited, so it ends here, with nothing committed,
 * rather than answering 503 for a change that would go on without its preflight.
 */
export function commandsNotSent(): OperationError {
  return {
    code: 'CommandsNotSent',
    message:
      'The preflight could not be sent to every host (Key Vault or storage is unavailable); nothing was changed. Send the change again.',
    target: null,
    status: 503,
  };
}

export function hostsUnreachable(hosts: string[]): OperationError {
  const shown = hosts.slice(0, 10).join(', ') + (hosts.length > 10 ? ', …' : '');
  return {
    code: 'HostsDidNotReport',
    message: `Hosts did not report before the operation deadline: ${shown}`,
    target: 'hosts',
    status: 409,
  };
}

export function publisherSilent(host: string): OperationError {
  return {
    code: 'PublisherDidNotReport',
    message: `The publisher ${host} did not report its step before the operation deadline; the hosts keep a store they can open`,
    target: 'hosts',
    status: 409,
  };
}
