/**
 * The one mapper from errors to HTTP: IIS Administration–shaped bodies
 * `{ title, name, detail, status }` plus a stable `x-ms-error-code`. Anything unexpected is
 * logged and answered with 503 (a dependency failed) — never with the error's own text.
 */
import type { HttpResponseInit } from '@azure/functions';
import { isRestError } from '@azure/core-rest-pipeline';
import { DomainError, ensureError, type ErrorKind } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';

const STATUS: Record<ErrorKind, { status: number; title: string }> = {
  invalid: { status: 400, title: 'Invalid parameter' },
  unauthenticated: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  precondition: { status: 412, title: 'Precondition failed' },
  'too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media': { status: 415, title: 'Unsupported media type' },
  unavailable: { status: 503, title: 'Service unavailable' },
};

export const JSON_TYPE = 'application/json; charset=utf-8';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status,
    jsonBody: body,
    headers: { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store', ...headers },
  };
}

/** The error body in the IIS Administration API's key order: title, name, detail, status. */
export function errorResponse(error: DomainError): HttpResponseInit {
  const { status, title } = STATUS[error.kind];
  // The seed's 404 for a ccs-id without CCS is quoted exactly, key order included.
  const body =
    error.code === 'CcsNotEnabled'
      ? { title, detail: error.message, name: error.field, status }
      : {
          title,
          ...(error.field ? { name: error.field } : {}),
          detail: error.message,
          status,
          ...error.details,
        };
  const headers: Record<string, string> = { 'x-ms-error-code': error.code };
  if (error.kind === 'unauthenticated') headers['WWW-Authenticate'] = 'Bearer';
  if (error.kind === 'unavailable') headers['Retry-After'] = '5';
  return json(status, body, headers);
}

export function failure(thrown: unknown, log: Logger): HttpResponseInit {
  if (thrown instanceof DomainError) return errorResponse(thrown);
  const error = ensureError(thrown);
  // Log the error class and status only: SDK errors can echo request bodies.
  log.error('request failed', { error: error.name, status: statusOf(thrown) });
  return errorResponse(
    new DomainError('unavailable', 'ServiceUnavailable', 'A dependency is unavailable; retry later'),
  );
}

function statusOf(thrown: unknown): number | undefined {
  return isRestError(thrown) ? thrown.statusCode : undefined;
}
