/**
 * The answer to a change: 202 + Operation-Location, or — with `Prefer: wait=N` — the final
 * result when the operation ends within N seconds (200/204 on success, the hosts' error mapped
 * to its status on failure).
 */
import type { HttpResponseInit } from '@azure/functions';
import { setTimeout as delay } from 'node:timers/promises';
import { DomainError, type ErrorKind } from '../../shared/errors.js';
import type { OperationRecord } from '../../shared/model.js';
import { isTerminal } from '../../shared/model.js';
import type { AppContext } from '../app-context.js';
import { operationHeaderCode } from '../../shared/services/operation-errors.js';
import { BOUND_NAMES_UNCOVERED, boundNamesConflict } from '../../shared/services/bound-names-error.js';
import { errorResponse, json } from './respond.js';
import { operationHref, operationView } from './views.js';

const POLL_MS = 200;

const KIND_BY_STATUS: Record<number, ErrorKind> = {
  400: 'invalid',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  412: 'precondition',
};

async function waitFor(app: AppContext, op: OperationRecord, seconds: number): Promise<OperationRecord> {
  const deadline = Date.now() + seconds * 1000;
  let current = op;
  while (!isTerminal(current.status) && Date.now() < deadline) {
    await delay(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    current = (await app.operations.advance(op.id)) ?? current;
  }
  return current;
}

export async function respondToOperation(
  app: AppContext,
  op: OperationRecord,
  waitSeconds: number,
  onSuccess: () => Promise<HttpResponseInit>,
): Promise<HttpResponseInit> {
  const final = waitSeconds > 0 ? await waitFor(app, op, waitSeconds) : op;
  const applied: Record<string, string> =
    waitSeconds > 0 ? { 'Preference-Applied': `wait=${waitSeconds}` } : {};
  if (waitSeconds > 0 && final.status === 'Succeeded') {
    const response = await onSuccess();
    return { ...response, headers: { ...(response.headers as Record<string, string>), ...applied } };
  }
  if (waitSeconds > 0 && final.status === 'Failed' && final.error) {
    const kind = KIND_BY_STATUS[final.error.status] ?? 'conflict';
    // The header carries a code the API documents, never a host's own text (its code and detail
    // are in the operation's body).
    const response = errorResponse(
      final.error.code === BOUND_NAMES_UNCOVERED
        ? boundNamesConflict(final.error, await app.operations.hosts(op.id))
        : new DomainError(
            kind,
            operationHeaderCode(final.error),
            final.error.message,
            final.error.target ?? undefined,
          ),
    );
    return {
      ...response,
      headers: {
        ...(response.headers as Record<string, string>),
        ...applied,
        'Operation-Location': operationHref(op.id),
      },
    };
  }
  const hosts = await app.operations.hosts(op.id);
  return json(202, operationView(final, hosts, await app.bindings.servingOf(final, hosts)), {
    'Operation-Location': operationHref(op.id),
    'Retry-After': '1',
    ...applied,
  });
}
